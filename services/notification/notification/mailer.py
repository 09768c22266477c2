"""Email over SMTP, the way notification reaches people today.

One SMTP conversation serves a whole batch: it opens with the first message and closes at the
end. Once the relay cannot be reached, the rest of the batch fails at once with the same code
instead of each message waiting for its own timeout. Failures become :class:`MailNotSent` with
a stable code; the caller records them and goes on with the next message.

Addresses pass through here and nowhere else: they are never logged.

Known gap: the relay is spoken to in plain SMTP, without STARTTLS or login, which suits a
local relay (or a sidecar) but not a provider on the internet.
"""

import logging
import smtplib
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

SMTP_UNREACHABLE = "smtp_unreachable"
SMTP_REFUSED = "smtp_refused"
SMTP_ERROR = "smtp_error"
ADDRESS_INVALID = "address_invalid"

DEFAULT_SENDER = "no-reply@kodomo-shokudo.example"


class MailNotSent(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = DEFAULT_SENDER
    timeout_seconds: float = 10.0


def compose(sender, address, letter, languages):
    """A UTF-8 MIME email that says it was sent by a machine."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = address  # refuses line breaks, so no header can be smuggled in
    if len(email["To"].addresses) != 1 or not email["To"].addresses[0].domain:
        raise ValueError("not a single email address")
    email["Subject"] = letter.subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # Tells mail servers not to answer with vacation replies.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(letter.body, charset="utf-8")
    # After set_content, which clears every Content-* header set before it.
    email["Content-Language"] = ", ".join(languages)
    return email


class SmtpMailer:
    """Opens SMTP conversations with the relay in ``settings``."""

    def __init__(self, settings):
        self.settings = settings

    @contextmanager
    def conversation(self):
        post = SmtpConversation(self.settings)
        try:
            yield post
        finally:
            post.close()


class SmtpConversation:
    """One connection to the relay, opened when the first message goes."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp = None
        self._unreachable = False

    def send(self, address, letter, languages):
        try:
            email = compose(self.settings.sender, address, letter, languages)
        except ValueError:
            raise MailNotSent(ADDRESS_INVALID) from None
        smtp = self._connection()
        try:
            smtp.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as refused:
            # The relay said no to this message only; smtplib has reset the conversation.
            log.warning("mail refused by the relay", extra={"smtp_error": type(refused).__name__})
            raise MailNotSent(SMTP_REFUSED) from None
        except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as error:
            self._drop()
            # A relay that stops answering would make each message left wait its own timeout;
            # after a mere drop, the next message tries a new connection.
            self._unreachable = _timed_out(error)
            log.warning("smtp connection lost", extra={"smtp_error": type(error).__name__})
            raise MailNotSent(SMTP_UNREACHABLE) from None
        except OSError as error:
            # Any other SMTP answer or socket failure (smtplib's errors are OSErrors too).
            self._drop()
            log.warning("smtp conversation failed", extra={"smtp_error": type(error).__name__})
            raise MailNotSent(SMTP_ERROR) from None

    def close(self):
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None

    def _connection(self):
        if self._unreachable:
            raise MailNotSent(SMTP_UNREACHABLE)
        if self._smtp is None:
            try:
                self._smtp = smtplib.SMTP(self.settings.host, self.settings.port,
                                          timeout=self.settings.timeout_seconds)
            except OSError as error:
                self._unreachable = True
                log.warning("smtp relay unreachable", extra={
                    "smtp_host": self.settings.host, "smtp_port": self.settings.port,
                    "smtp_error": type(error).__name__,
                })
                raise MailNotSent(SMTP_UNREACHABLE) from None
        return self._smtp

    def _drop(self):
        smtp, self._smtp = self._smtp, None
        try:
            smtp.close()
        except OSError:
            pass


def _timed_out(error):
    """smtplib reports a read that timed out as a disconnection; its context tells them apart."""
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


class Mailer(DependencyProvider):
    """Gives workers an :class:`SmtpMailer` configured from SMTP_HOST, SMTP_PORT, MAIL_FROM."""

    def setup(self):
        config = self.container.config
        self.mailer = SmtpMailer(SmtpSettings(
            host=str(config.get("SMTP_HOST", SmtpSettings.host)),
            port=int(config.get("SMTP_PORT", SmtpSettings.port)),
            sender=str(config.get("MAIL_FROM", DEFAULT_SENDER)),
            timeout_seconds=float(config.get("SMTP_TIMEOUT_SECONDS",
                                             SmtpSettings.timeout_seconds)),
        ))

    def get_dependency(self, worker_ctx):
        return self.mailer
