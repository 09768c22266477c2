"""SMS and push providers over HTTP, against a provider started in the test; and how a family's
preferred channel is chosen, or replaced by email."""

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import text

from shokudo_common.clock import FixedClock
from shokudo_common.errors import InvalidInput
from shokudo_common.testing import outbox_writer

from notification import domain
from notification.channels import (
    PROVIDER_ERROR, PROVIDER_REFUSED, PROVIDER_UNREACHABLE, NotSent, Outgoing, ProviderSettings,
    PushChannel, SmsChannel, providers_from,
)
from notification.mailer import SmtpMailer, SmtpSettings
from notification.policy import DeliveryPolicy
from notification.rendering import Letter
from notification.service import NotificationService

LETTER = Letter(subject="3月31日まで ¥1,200 残っています", body="食事チケットに…\n")
HOUSEHOLD = "11111111-1111-4111-8111-111111111111"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
PHONE = "090-1234-5678"
EMAIL = "hana.family@example.jp"


# Never set: waiting on it is how the provider takes ``delay`` seconds to answer.
answered = threading.Event()


class Provider:
    """A provider's HTTP API on a local port: keeps each request, answers ``status``."""

    def __init__(self):
        self.requests = []
        self.status = 202
        # Seconds the provider takes before it answers (a provider that times out).
        self.delay = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                provider.requests.append({
                    "path": self.path,
                    "authorization": self.headers["Authorization"],
                    "body": json.loads(self.rfile.read(length)),
                })
                answered.wait(provider.delay)
                self.send_response(provider.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    with Provider() as provider:
        yield provider


TOKEN = "fcm:dGVzdC1kZXZpY2UtdG9rZW4"


def sms(url, api_key="sms-key"):
    return SmsChannel(ProviderSettings(url, api_key, timeout_seconds=2))


def push(url, api_key="push-key"):
    return PushChannel(ProviderSettings(url, api_key, timeout_seconds=2))


def test_the_sms_provider_gets_the_short_text_as_json_with_the_api_key(provider):
    sms(provider.url).send(Outgoing(PHONE, LETTER, ("ja", "en")))

    [request] = provider.requests
    assert request["path"] == "/v1/messages"
    assert request["authorization"] == "Bearer sms-key"
    assert request["body"] == {"to": PHONE, "text": LETTER.body.strip(), "language": "ja"}


def test_the_push_provider_gets_a_title_and_body_for_the_registered_device(provider):
    push(provider.url).send(Outgoing(TOKEN, LETTER, ("ja", "en"), platform="android"))

    [request] = provider.requests
    assert request["authorization"] == "Bearer push-key"
    assert request["body"] == {"to": TOKEN, "platform": "android", "title": LETTER.subject,
                               "body": LETTER.body, "language": "ja"}


@pytest.mark.parametrize("status, code, permanent", [
    (400, PROVIDER_REFUSED, True), (404, PROVIDER_REFUSED, True), (429, PROVIDER_ERROR, False),
    (500, PROVIDER_ERROR, False), (503, PROVIDER_ERROR, False),
])
def test_a_provider_that_says_no_raises_not_sent_permanent_only_for_a_4xx_but_429(
        provider, status, code, permanent):
    provider.status = status

    for channel in (sms(provider.url), push(provider.url)):
        with pytest.raises(NotSent) as raised:
            channel.send(Outgoing(PHONE, LETTER, ("ja", "en")))
        assert (raised.value.code, raised.value.permanent) == (code, permanent)
        assert raised.value.provider_status == status


def test_a_provider_that_does_not_answer_in_time_is_tried_again(provider):
    provider.delay = 1.5
    slow = SmsChannel(ProviderSettings(provider.url, "k", timeout_seconds=0.2))

    with pytest.raises(NotSent) as raised:
        slow.send(Outgoing(PHONE, LETTER, ("ja",)))

    assert (raised.value.code, raised.value.permanent) == (PROVIDER_UNREACHABLE, False)


def test_a_provider_that_cannot_be_reached_raises_not_sent(unused_port):
    with pytest.raises(NotSent) as raised:
        sms(f"http://127.0.0.1:{unused_port}/").send(Outgoing(PHONE, LETTER, ("ja",)))
    assert raised.value.code == PROVIDER_UNREACHABLE


def test_only_providers_with_a_url_exist():
    providers = providers_from({"SMS_PROVIDER_URL": "http://sms.example/send",
                                "SMS_PROVIDER_API_KEY": "k", "PUSH_PROVIDER_URL": None})
    assert set(providers) == {domain.SMS}
    assert providers[domain.SMS].settings.api_key == "k"
    assert isinstance(providers[domain.SMS], SmsChannel)
    both = providers_from({"SMS_PROVIDER_URL": "http://sms.example/send",
                           "PUSH_PROVIDER_URL": "http://push.example/send"})
    assert isinstance(both[domain.PUSH], PushChannel)


# -- the service choosing a channel -----------------------------------------------------------


def household(notify_by, phone=PHONE, email=EMAIL):
    return {
        "household_id": HOUSEHOLD, "channel": "app", "language": "ja", "email": email,
        "organisation_id": ORGANISATION, "organisation_name": "支援の会",
        "organisation_email": "staff@org.example.jp", "external_ref": "A-1",
        "notify_by": notify_by, "phone": phone,
    }


def redeemed():
    return {
        "event_id": "bbbbbbbb-0000-4000-8000-000000000001",
        "redemption_id": "cccccccc-0000-4000-8000-000000000001",
        "household_id": HOUSEHOLD, "organisation_id": ORGANISATION, "region_id": "hoshizora-ku",
        "restaurant_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "applied_yen": 1200,
        "balance_yen": 1800, "valid_until": "2026-03-31T15:00:00+00:00",
        "at": "2026-03-12T01:30:00+00:00",
    }


def make_service(session, enrollment, smtp_port, providers):
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_seconds=5))
    daytime = FixedClock(datetime(2026, 3, 12, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    return worker_factory(NotificationService, db=session, outbox=outbox_writer(),
                          enrollment=enrollment, mailer=mailer, clock=daytime,
                          policy=DeliveryPolicy(), providers=providers)


def channels_logged(database):
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT channel, outcome FROM deliveries")).all()


def test_a_family_that_prefers_sms_gets_its_receipt_by_sms(
        session, enrollment, smtp_sink, mailbox, database, provider):
    enrollment.add(household("sms"))
    service = make_service(session, enrollment, smtp_sink.port,
                           {domain.SMS: sms(provider.url)})

    service.on_ticket_redeemed(redeemed())
    service.send_due()

    [request] = provider.requests
    assert request["body"]["to"] == PHONE
    # The short SMS text in the family's language, within one segment.
    text = request["body"]["text"]
    assert "¥1,200" in text and "¥1,800" in text and "1,200 yen" not in text
    assert len(text) <= 70
    assert mailbox.received == []
    assert channels_logged(database) == [("sms", "sent")]


def test_a_message_the_provider_refuses_for_good_is_failed_at_once_with_its_status(
        session, enrollment, smtp_sink, database, provider):
    provider.status = 422
    enrollment.add(household("sms"))
    service = make_service(session, enrollment, smtp_sink.port,
                           {domain.SMS: sms(provider.url)})

    service.on_ticket_redeemed(redeemed())
    service.send_due()
    service.send_due()

    assert len(provider.requests) == 1
    with database.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT outcome, attempts, error_code, provider_status FROM deliveries")).one()
    assert tuple(row) == ("failed", 1, PROVIDER_REFUSED, 422)
    [failed] = database.outbox_events("notification_failed")
    assert (failed["error_code"], failed["provider_status"]) == (PROVIDER_REFUSED, 422)


def test_a_family_that_prefers_push_is_reached_on_the_device_its_app_registered(
        session, enrollment, smtp_sink, mailbox, database, provider):
    enrollment.add(household("push"))
    service = make_service(session, enrollment, smtp_sink.port,
                           {domain.PUSH: push(provider.url)})

    registered = service.register_push_token(HOUSEHOLD, "old-phone-token", "android")
    service.register_push_token(HOUSEHOLD, TOKEN, "ios")  # a new phone replaces the old
    service.on_ticket_redeemed(redeemed())
    service.send_due()

    assert registered["platform"] == "android" and "token" not in registered
    [request] = provider.requests
    assert (request["body"]["to"], request["body"]["platform"]) == (TOKEN, "ios")
    assert request["body"]["title"].startswith("ご利用明細")
    assert request["authorization"] == "Bearer push-key"
    assert mailbox.received == []
    assert channels_logged(database) == [("push", "sent")]


def test_a_family_that_prefers_push_but_has_no_device_yet_is_written_to_by_email(
        session, enrollment, smtp_sink, mailbox, database, provider):
    enrollment.add(household("push"))
    service = make_service(session, enrollment, smtp_sink.port,
                           {domain.PUSH: push(provider.url)})

    service.on_ticket_redeemed(redeemed())
    service.send_due()

    assert provider.requests == []
    assert len(mailbox.to(EMAIL)) == 1
    assert channels_logged(database) == [("email", "sent")]


@pytest.mark.parametrize("token, platform", [("", "ios"), ("has space", "ios"),
                                             (TOKEN, "windows"), ("x" * 4097, "android")])
def test_a_malformed_device_is_refused_naming_the_field(session, enrollment, smtp_sink,
                                                          token, platform):
    service = make_service(session, enrollment, smtp_sink.port, {})

    with pytest.raises(InvalidInput) as refused:
        service.register_push_token(HOUSEHOLD, token, platform)

    assert set(refused.value.details["fields"]) <= {"token", "platform"}


def test_a_preferred_channel_without_a_provider_falls_back_to_email_logged_without_contacts(
        session, enrollment, smtp_sink, mailbox, database, caplog):
    enrollment.add(household("sms"))
    service = make_service(session, enrollment, smtp_sink.port, {})

    with caplog.at_level(logging.INFO):
        service.on_ticket_redeemed(redeemed())
        service.send_due()

    assert len(mailbox.to(EMAIL)) == 1
    assert channels_logged(database) == [("email", "sent")]
    [fallback] = [record for record in caplog.records if "falls back" in record.getMessage()
                  or "email instead" in record.getMessage()]
    assert fallback.preferred == "sms" and fallback.household_id == HOUSEHOLD
    # The service's own lines; the test's SMTP sink (aiosmtpd, "mail.log") logs recipients.
    logged = " ".join(str(vars(record)) for record in caplog.records
                      if record.name.startswith(("notification", "shokudo_common")))
    assert PHONE not in logged and EMAIL not in logged


def test_an_sms_provider_failure_is_retried_like_any_other(
        session, enrollment, smtp_sink, database, provider):
    provider.status = 503
    enrollment.add(household("sms"))
    service = make_service(session, enrollment, smtp_sink.port,
                           {domain.SMS: sms(provider.url)})

    service.on_ticket_redeemed(redeemed())
    service.send_due()

    with database.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT outcome, attempts, error_code FROM deliveries")).one()
    assert tuple(row) == ("pending", 1, PROVIDER_ERROR)
