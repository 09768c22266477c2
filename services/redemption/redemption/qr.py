"""QR codes shown by the family's app: short-lived signed tokens bound to one ticket.

A token is a JWT signed with HS256 whose claims say whose ticket it draws on and for how long:

    typ  "qr"            tkt  the ticket (issuance's grant id)
    sub  the household   jti  this token's own id, recorded with the redemption it pays
    per  the ticket's period (YYYY-MM)
    exp  about two minutes after issue

so that a screenshot passed around soon stops working, works only for the ticket it names and
pays one bill at most. Expiry is judged against the service's clock, not PyJWT's own, so that
it follows the same "now" as every other rule.

Reading a token says either what it names or why it is refused: a token that is not ours
(bad signature, malformed, tampered, missing a claim) is invalid; a good one past its expiry
is expired. Whether it names the household's current ticket and whether it was used already
is the counter's question, asked with the ticket locked.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from nameko.extensions import DependencyProvider

from shokudo_common.signing_secrets import checked_secret

from redemption import domain

ALGORITHM = "HS256"
SECRET_KEY = "QR_TOKEN_SECRET"
TOKEN_TYPE = "qr"
DEFAULT_SECONDS = 120
CLAIMS = ("typ", "sub", "per", "tkt", "jti", "exp")
# The ledger keeps a token's jti in a column this wide; ours are 32 hex digits.
MAX_JTI_LENGTH = 64


@dataclass(frozen=True)
class Presented:
    """What a QR code shown at the counter names, or why it is refused (``refusal``)."""

    household_id: str | None = None
    period: str | None = None
    ticket_id: str | None = None
    jti: str | None = None
    refusal: str | None = None


class QrTokenSigner:
    """Signs and reads QR tokens with one secret."""

    def __init__(self, secret, seconds=DEFAULT_SECONDS):
        self.secret = secret
        self.seconds = int(seconds)

    def issue(self, household_id, ticket, now):
        """A token for ``household_id``'s ``ticket`` and the instant it stops being accepted.

        ``ticket`` is anything with ``id`` and ``period`` (the ticket row itself).
        """
        expires_at = now + timedelta(seconds=self.seconds)
        claims = {
            "typ": TOKEN_TYPE,
            "sub": household_id,
            "per": ticket.period,
            "tkt": ticket.id,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.secret, algorithm=ALGORITHM)
        return token, datetime.fromtimestamp(claims["exp"], tz=timezone.utc)

    def read(self, token, now):
        """What a token names at ``now``, or why it cannot be used."""
        claims = self._verified_claims(token)
        if claims is None:
            return Presented(refusal=domain.QR_TOKEN_INVALID)
        if now.timestamp() >= claims["exp"]:
            return Presented(refusal=domain.QR_TOKEN_EXPIRED)
        return Presented(household_id=claims["sub"], period=claims["per"],
                         ticket_id=claims["tkt"], jti=claims["jti"])

    def household_of(self, token, now):
        """The household a good, unexpired token names, or None."""
        return self.read(token, now).household_id

    def _verified_claims(self, token):
        """The claims of a token signed with our secret and whole, or None."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                options={"require": list(CLAIMS), "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None

        if claims["typ"] != TOKEN_TYPE or not isinstance(claims["exp"], int):
            return None
        if not all(isinstance(claims[name], str) for name in ("sub", "per", "tkt", "jti")):
            return None
        if len(claims["jti"]) > MAX_JTI_LENGTH:
            return None
        return claims


class QrTokens(DependencyProvider):
    """Reads the secret and lifetime from config once; workers share one signer.

    A secret anyone could know (a placeholder, a short one, the repository's development
    default without the development switch) stops the service at start
    (:mod:`shokudo_common.signing_secrets`).
    """

    def setup(self):
        config = self.container.config
        secret = checked_secret(SECRET_KEY, config.get(SECRET_KEY), config)
        self.signer = QrTokenSigner(secret, config.get("QR_TOKEN_SECONDS", DEFAULT_SECONDS))

    def get_dependency(self, worker_ctx):
        return self.signer
