"""The ways a message reaches someone, behind one interface: ``channel.send(outgoing)``.

- email goes through the SMTP relay (:mod:`notification.mailer`), to families and to
  organisation staff alike;
- SMS and push go to a provider's HTTP API: a JSON POST to the provider's URL with the API key
  from the config. A channel whose provider is not configured does not exist here, and the
  domain sends email instead (see domain.family_channel).

A failure raises :class:`NotSent` with a stable code; whether it is tried again is decided by
the caller. Addresses pass through here and are never logged.
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


class NotSent(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Outgoing:
    """A rendered message on its way; held in memory only."""

    address: str
    letter: object
    languages: tuple


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


class ProviderChannel:
    """SMS or push through a provider's HTTP API.

    The request is ``POST <url>`` with ``Authorization: Bearer <api key>`` and the JSON body
    ``{"to", "subject", "text", "language"}``; any 2xx answer means the provider took it.
    """

    def __init__(self, name, settings, session=None):
        self.name = name
        self.settings = settings
        self.http = session or requests.Session()

    def send(self, outgoing):
        body = {
            "to": outgoing.address,
            "subject": outgoing.letter.subject,
            "text": outgoing.letter.body,
            "language": outgoing.languages[0],
        }
        try:
            answer = self.http.post(
                self.settings.url, json=body, timeout=self.settings.timeout_seconds,
                headers={"Authorization": f"Bearer {self.settings.api_key}"},
            )
        except requests.RequestException as error:
            log.warning("provider unreachable", extra={"channel": self.name,
                                                       "provider_error": type(error).__name__})
            raise NotSent(PROVIDER_UNREACHABLE) from None

        if answer.ok:
            return
        log.warning("provider refused a message", extra={"channel": self.name,
                                                         "status": answer.status_code})
        # A 4xx says this message will never go as it is; a 5xx may pass later. Both are
        # retried alike for now: the try count bounds either.
        raise NotSent(PROVIDER_REFUSED if answer.status_code < 500 else PROVIDER_ERROR)


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
            providers[channel] = ProviderChannel(channel, settings)
    return providers


class Providers(DependencyProvider):
    """Gives workers the configured SMS and push providers, by channel."""

    def setup(self):
        self.providers = providers_from(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.providers
