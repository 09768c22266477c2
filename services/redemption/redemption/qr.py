"""QR codes shown by the family's app: short-lived signed tokens naming the household.

A token is a JWT signed with HS256 carrying ``typ: "qr"``, ``sub`` (the household id) and an
expiry about two minutes after issue, so that a screenshot passed around soon stops working.
Expiry is judged against the service's clock, not PyJWT's own, so that it follows the same
"now" as every other rule.

Known shortcoming: a token may be used more than once within its lifetime (the balance still
bounds what it can take). Single use would need its ``jti`` recorded with each redemption.
"""

import uuid
from datetime import datetime, timedelta, timezone

import jwt
from nameko.extensions import DependencyProvider

ALGORITHM = "HS256"
TOKEN_TYPE = "qr"
DEFAULT_SECONDS = 120


class QrTokenSigner:
    """Signs and reads QR tokens with one secret."""

    def __init__(self, secret, seconds=DEFAULT_SECONDS):
        self.secret = secret
        self.seconds = int(seconds)

    def issue(self, household_id, now):
        """A token for ``household_id`` and the instant it stops being accepted."""
        expires_at = now + timedelta(seconds=self.seconds)
        claims = {
            "typ": TOKEN_TYPE,
            "sub": household_id,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.secret, algorithm=ALGORITHM)
        return token, datetime.fromtimestamp(claims["exp"], tz=timezone.utc)

    def household_of(self, token, now):
        """The household a good token names, or None for a bad, foreign or expired one."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "typ"], "verify_exp": False,
                         "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None

        if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("sub"), str):
            return None
        if not isinstance(claims["exp"], int) or now.timestamp() >= claims["exp"]:
            return None
        return claims["sub"]


class QrTokens(DependencyProvider):
    """Reads the secret and lifetime from config once; workers share one signer."""

    def setup(self):
        config = self.container.config
        self.signer = QrTokenSigner(
            config["QR_TOKEN_SECRET"], config.get("QR_TOKEN_SECONDS", DEFAULT_SECONDS)
        )

    def get_dependency(self, worker_ctx):
        return self.signer
