"""The ways a message reaches someone, behind one interface: ``channel.send(outgoing)``.

- email goes through the SMTP relay (:mod:`notification.mailer`), to families and to
  organisation staff alike;
- SMS and push each go to their provider's HTTP API through an adapter of their own
  (:class:`SmsChannel`, :class:`PushChannel`): a JSON POST to the provider's URL with the API
  key from the config, in the shape that kind of provider takes. SMS carries the short text
  of the template (``templates/sms/``), push the subject as its title and the body, to the
  device the app registered. A channel whose provider is not configured does not exist here,
  and the domain sends email instead (see domain.family_channel).

A failure raises :class:`NotSent` with a stable code. A provider's 4xx (but 429) means the
message will never go as it is: ``permanent``, with the provider's status, and it is not
tried again. A 5xx, a 429 or no answer in time may pass later: the caller tries again.
Addresses and tokens pass through here and are never logged.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from nameko.extensions import DependencyProvider

from notification import domain
from notification.mailer import MailNotSent

log = logging.getLogger(__name__)

PROVIDER_UNREACHABLE = "provider_unreachable"
PROVIDER_REFUSED = "provider_refused"
PROVIDER_ERROR = "provider_error"
# A provider saying "not now": retried like a 5xx.
TOO_MANY_REQUESTS = 429


class NotSent(Exception):
    """A send that did not happen; ``permanent`` when trying again cannot help."""

    def __init__(self, code, permanent=False, provider_status=None):
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.provider_status = provider_status


@dataclass(frozen=True)
class Outgoing:
    """A rendered message on its way; held in memory only. ``platform`` is the device's
    (ios, android) for push."""

    address: str
    letter: object
    languages: tuple
    platform: str | None = None


class EmailChannel:
    """Email over one SMTP conversation (a batch shares it)."""

    def __init__(self, post):
        self.post = post

    def send(self, outgoing):
        try:
            self.post.send(outgoing.address, outgoing.letter, outgoing.languages)
        except MailNotSent as failure:
            raise NotSent(failure.code) from None


@dataclass(frozen=True)
class ProviderSettings:
    url: str
    api_key: str
    timeout_seconds: float = 10.0


class HttpProvider:
    """What every provider adapter shares: one JSON POST with the bearer key, and what the
    provider's answer means (2xx taken; 4xx but 429 refused for good; 5xx, 429 and no answer
    tried again)."""

    name = None

    def __init__(self, settings, session=None):
        self.settings = settings
        self.http = session or requests.Session()

    def send(self, outgoing):
        try:
            answer = self.http.post(
                self.settings.url, json=self.body(outgoing),
                timeout=self.settings.timeout_seconds,
                headers={"Authorization": f"Bearer {self.settings.api_key}"},
            )
        except requests.RequestException as error:
            log.warning("provider unreachable", extra={"channel": self.name,
                                                       "provider_error": type(error).__name__})
            raise NotSent(PROVIDER_UNREACHABLE) from None

        if answer.ok:
            return
        status = answer.status_code
        log.warning("provider refused a message", extra={"channel": self.name,
                                                         "status": status})
        if 400 <= status < 500 and status != TOO_MANY_REQUESTS:
            raise NotSent(PROVIDER_REFUSED, permanent=True, provider_status=status)
        raise NotSent(PROVIDER_ERROR, provider_status=status)

    def body(self, outgoing):
        raise NotImplementedError


class SmsChannel(HttpProvider):
    """An SMS provider: ``{"to": phone, "text", "language"}``. The text is the template's
    short SMS variant, in the reader's language alone, to fit a short message."""

    name = domain.SMS

    def body(self, outgoing):
        return {"to": outgoing.address, "text": outgoing.letter.body.strip(),
                "language": outgoing.languages[0]}


class PushChannel(HttpProvider):
    """A push provider: ``{"to": device token, "platform", "title", "body", "language"}``, to
    the device the family's app registered."""

    name = domain.PUSH

    def body(self, outgoing):
        return {"to": outgoing.address, "platform": outgoing.platform,
                "title": outgoing.letter.subject, "body": outgoing.letter.body,
                "language": outgoing.languages[0]}


ADAPTERS = {domain.SMS: SmsChannel, domain.PUSH: PushChannel}


class Post:
    """The channels of one batch: a single SMTP conversation for every email in it."""

    def __init__(self, email, providers):
        self.channels = {domain.EMAIL: email, domain.ORGANISATION_NOTICE: email, **providers}

    def send(self, channel, outgoing):
        self.channels[channel].send(outgoing)


class Dispatcher:
    """Opens a :class:`Post` over the mailer and the configured providers."""

    def __init__(self, mailer, providers):
        self.mailer = mailer
        self.providers = providers

    def available(self):
        """The family channels that can be used here: email, and each configured provider."""
        return (domain.EMAIL, *self.providers)

    @contextmanager
    def post(self):
        with self.mailer.conversation() as conversation:
            yield Post(EmailChannel(conversation), self.providers)


def providers_from(config):
    """SMS_PROVIDER_URL / SMS_PROVIDER_API_KEY, PUSH_PROVIDER_URL / PUSH_PROVIDER_API_KEY: a
    channel exists only when its URL is set."""
    timeout = float(config.get("PROVIDER_TIMEOUT_SECONDS", 10))
    providers = {}
    for channel in (domain.SMS, domain.PUSH):
        prefix = channel.upper()
        url = str(config.get(f"{prefix}_PROVIDER_URL") or "").strip()
        if url:
            api_key = str(config.get(f"{prefix}_PROVIDER_API_KEY") or "")
            settings = ProviderSettings(url, api_key, timeout)
            providers[channel] = ADAPTERS[channel](settings)
    return providers


class Providers(DependencyProvider):
    """Gives workers the configured SMS and push providers, by channel."""

    def setup(self):
        self.providers = providers_from(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.providers
