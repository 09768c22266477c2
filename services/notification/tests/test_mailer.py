"""The SMTP conversation against real sockets: refusals, a relay that is down or hangs."""

import eventlet
import pytest

from notification.mailer import (
    ADDRESS_INVALID, SMTP_REFUSED, SMTP_UNREACHABLE, MailNotSent, SmtpMailer, SmtpSettings,
)
from notification.rendering import Letter

LETTER = Letter(subject="食事チケット / Meal ticket", body="3,000円\n3,000 yen\n")


class Picky:
    """Accepts every recipient but one, and keeps what it accepted."""

    def __init__(self, refused):
        self.refused = refused
        self.accepted = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def picky_relay(smtp_sink):
    """The session's SMTP sink, picky for one test. Only one asyncio loop can run in this
    eventlet-patched process, so a second aiosmtpd controller cannot start beside the sink."""
    default, smtp_sink.handler = smtp_sink.handler, Picky(refused="gone@example.jp")
    yield smtp_sink
    smtp_sink.handler = default


def settings(port, timeout_seconds=5):
    return SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=timeout_seconds)


def failure_code(post, address):
    with pytest.raises(MailNotSent) as raised:
        post.send(address, LETTER, ("ja", "en"))
    return raised.value.code


def test_a_refused_recipient_fails_alone_and_the_conversation_goes_on(picky_relay):
    with SmtpMailer(settings(picky_relay.port)).conversation() as post:
        assert failure_code(post, "gone@example.jp") == SMTP_REFUSED
        post.send("here@example.jp", LETTER, ("ja", "en"))

    assert picky_relay.handler.accepted == ["here@example.jp"]


@pytest.mark.parametrize("address", [
    "here@example.jp\nBcc: everyone@example.jp", "no address at all", "a@example.jp, b@example.jp",
])
def test_a_malformed_address_fails_that_message_only(picky_relay, address):
    with SmtpMailer(settings(picky_relay.port)).conversation() as post:
        assert failure_code(post, address) == ADDRESS_INVALID
        post.send("here@example.jp", LETTER, ("ja", "en"))

    assert picky_relay.handler.accepted == ["here@example.jp"]


def test_a_relay_that_is_down_fails_every_message_as_unreachable(unused_port):
    with SmtpMailer(settings(unused_port)).conversation() as post:
        codes = [failure_code(post, "here@example.jp") for _ in range(3)]

    assert codes == [SMTP_UNREACHABLE] * 3


def test_a_relay_that_stops_answering_is_waited_for_once_per_batch():
    # Greets, then never answers: each message would otherwise wait its own timeout.
    listener = eventlet.listen(("127.0.0.1", 0))
    connections = []

    def greet_then_hang():
        while True:
            connection, _ = listener.accept()
            connections.append(connection)
            connection.sendall(b"220 relay ready\r\n")

    server = eventlet.spawn(greet_then_hang)
    try:
        port = listener.getsockname()[1]
        with SmtpMailer(settings(port, timeout_seconds=0.3)).conversation() as post:
            codes = [failure_code(post, "here@example.jp") for _ in range(3)]
    finally:
        server.kill()
        listener.close()
        for connection in connections:
            connection.close()

    assert codes == [SMTP_UNREACHABLE] * 3
    assert len(connections) == 1
