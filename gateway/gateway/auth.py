"""Who is calling, and what they may see.

Every caller but the public carries a signed token (JWT, HS256, valid one hour) naming a role
and, for the scoped roles, the one organisation, restaurant or household it acts for:

    role           scope claim        may reach
    operator       -                  everything its routes serve
    organisation   organisation_id    paths naming its own organisation
    restaurant     restaurant_id      paths naming its own restaurant
    household      household_id       its own ticket, under /v1/app/me/

A route declares the roles it serves; any other role gets 403 ``forbidden_role``. A scoped
caller whose path names another organisation or restaurant gets the very 404 an unknown id
gets, so a token never tells whether someone else's records exist.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from nameko.extensions import DependencyProvider

from shokudo_common.errors import Forbidden, NotFound

from gateway.errors import Unauthenticated

OPERATOR, ORGANISATION = "operator", "organisation"
RESTAURANT, HOUSEHOLD = "restaurant", "household"
ROLES = (OPERATOR, ORGANISATION, RESTAURANT, HOUSEHOLD)
STAFF_ROLES = (OPERATOR, ORGANISATION, RESTAURANT)

# The claim that scopes each role, named as the path parameter it must match.
SCOPE_CLAIMS = {ORGANISATION: "organisation_id", RESTAURANT: "restaurant_id",
                HOUSEHOLD: "household_id"}

# Household routes take the household from the token, never from the path.
OWN_HOUSEHOLD_PATHS = "/v1/app/me/"

# Routes that serve anyone, token or not.
PUBLIC = None

ISSUER = "shokudo-gateway"
ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Caller:
    """The role a request acts in, and for the scoped roles, whose records it acts for."""

    role: str
    organisation_id: str | None = None
    restaurant_id: str | None = None
    household_id: str | None = None

    def scope_claims(self):
        claim = SCOPE_CLAIMS.get(self.role)
        return {claim: getattr(self, claim)} if claim else {}


def issue_token(caller, secret, now=None):
    """A signed token for ``caller``, and how long it lasts."""
    issued_at = now or datetime.now(timezone.utc)
    claims = {
        "iss": ISSUER,
        "role": caller.role,
        "iat": issued_at,
        "exp": issued_at + TOKEN_LIFETIME,
        **caller.scope_claims(),
    }
    token = jwt.encode(claims, secret, algorithm=ALGORITHM)
    return {"access_token": token, "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds())}


def read_token(authorization, secret):
    """The Caller an ``Authorization: Bearer <token>`` header speaks for, or Unauthenticated."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing_token",
                              "this route needs an Authorization: Bearer <token> header")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "iss", "role"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token_expired", "the token has expired; sign in again") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("invalid_token", "the token is not valid") from None
    return _caller_from(claims)


def _caller_from(claims):
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthenticated("invalid_token", "the token is not valid")

    claim = SCOPE_CLAIMS.get(role)
    scope = {claim: claims.get(claim)} if claim else {}
    # A scoped role without its id would see nothing safely; refuse it outright.
    if claim and not isinstance(scope[claim], str):
        raise Unauthenticated("invalid_token", "the token is not valid")
    return Caller(role, **scope)


def admit(caller, serves, path):
    """Let ``caller`` through a route serving ``serves`` with ``path`` values, or refuse."""
    if caller.role not in serves:
        raise Forbidden("forbidden_role", f"this route is not open to the {caller.role} role",
                        {"role": caller.role})

    claim = SCOPE_CLAIMS.get(caller.role)
    named = path.get(claim) if claim else None
    if named is not None and named != getattr(caller, claim):
        raise not_found(claim, named)


def not_found(claim, value):
    """The 404 for an unknown id: said the same way whether the id exists or not.

    The wording follows the services' own (``no restaurant <id>``) so that a refusal looks
    exactly like the answer for an id nobody has.
    """
    kind = claim.removesuffix("_id")
    return NotFound(f"{kind}_not_found", f"no {kind} {value}")


def check_declaration(url, serves):
    """Refuse at import a route whose scope could not be checked for a role it serves."""
    for role in serves or ():
        if role not in ROLES:
            raise ValueError(f"{url}: unknown role {role!r}")
        claim = SCOPE_CLAIMS.get(role)
        own = role == HOUSEHOLD and url.startswith(OWN_HOUSEHOLD_PATHS)
        if claim and f"<{claim}>" not in url and not own:
            raise ValueError(f"{url} serves {role} but its path does not name <{claim}>")


def is_bootstrap_key(offered, expected):
    """Whether ``offered`` is the bootstrap key; an empty key switches bootstrap off."""
    if not expected or not isinstance(offered, str):
        return False
    return hmac.compare_digest(offered.encode(), expected.encode())


class TokenDesk:
    """What a worker sees: tokens signed and read with this gateway's secret."""

    def __init__(self, secret, bootstrap_key):
        self._secret = secret
        self._bootstrap_key = bootstrap_key

    def caller_of(self, request):
        return read_token(request.headers.get("Authorization"), self._secret)

    def issue(self, caller):
        return issue_token(caller, self._secret)

    def check_bootstrap_key(self, offered):
        if not is_bootstrap_key(offered, self._bootstrap_key):
            raise Unauthenticated("invalid_api_key", "the api_key is not valid")


class Tokens(DependencyProvider):
    """Reads the token secret and bootstrap key from config once, at start."""

    def setup(self):
        config = self.container.config
        self.secret = config["GATEWAY_TOKEN_SECRET"]
        self.bootstrap_key = str(config.get("GATEWAY_BOOTSTRAP_KEY") or "")

    def get_dependency(self, worker_ctx):
        return TokenDesk(self.secret, self.bootstrap_key)
