"""Who is calling, and what they may see.

Every caller but the public carries a signed access token (JWT, HS256, valid 15 minutes, got
by signing in or activating the app, renewed with a refresh token: :mod:`gateway.sessions`)
naming its session (``sid``), a role and, for the scoped roles, the one organisation,
restaurant or household it acts for:

    role           scope claim        may reach
    operator       regions (limited)  everything its routes serve, in its regions if limited
    organisation   organisation_id    ids of its own organisation
    restaurant     restaurant_id      ids of its own restaurant
    household      household_id       its own ticket, under /v1/app/me/

A route declares the roles it serves; any other role gets 403 ``forbidden_role``. A scoped
caller whose path, query or body names another organisation, restaurant or household, or a limited
operator naming one of another region, gets the very 404 an unknown id gets, so a token never
tells whether someone else's records exist.

The signature alone does not admit a token: each request also finds its session live in the
gateway's database (:meth:`gateway.sessions.SessionDesk.check_live`), so that signing out, a
disabled account, a new password or a household's new activation code ends access at once.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from nameko.extensions import DependencyProvider

from shokudo_common.errors import Forbidden, NotFound
from shokudo_common.signing_secrets import checked_secret

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

# Ids a path or a body may name, each checked against the caller's scope.
SCOPED_IDS = ("region_id", "organisation_id", "restaurant_id", "household_id")

ISSUER = "shokudo-gateway"
SECRET_KEY = "GATEWAY_TOKEN_SECRET"
# Prometheus's bearer token for /metrics; unset, the metrics are open (local stacks only).
METRICS_TOKEN_KEY = "GATEWAY_METRICS_TOKEN"
ALGORITHM = "HS256"
# Short, so that a copied token is worth little; its session is checked on every request too.
TOKEN_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class Caller:
    """The role a request acts in, and for the scoped roles, whose records it acts for."""

    role: str
    organisation_id: str | None = None
    restaurant_id: str | None = None
    household_id: str | None = None
    # An operator limited to some regions; empty for every region (and for the other roles).
    region_ids: tuple = ()
    # The staff account signed in, so that the access trail names a person, not only a role.
    staff_id: str | None = None
    # The session the token belongs to, checked live on every request.
    session_id: str | None = None

    def scope_claims(self):
        claim = SCOPE_CLAIMS.get(self.role)
        return {claim: getattr(self, claim)} if claim else {}

    @property
    def limited_to_regions(self):
        return self.role == OPERATOR and bool(self.region_ids)


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
    if caller.limited_to_regions:
        claims["regions"] = list(caller.region_ids)
    if caller.staff_id:
        claims["sub"] = caller.staff_id
    if caller.session_id:
        claims["sid"] = caller.session_id
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
                            options={"require": ["exp", "iat", "iss", "role", "sid"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token_expired",
                              "the token has expired; refresh it or sign in again") from None
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

    regions = claims.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise Unauthenticated("invalid_token", "the token is not valid")
    if regions and role != OPERATOR:
        raise Unauthenticated("invalid_token", "the token is not valid")

    staff_id = claims.get("sub")
    if staff_id is not None and (role not in STAFF_ROLES or not isinstance(staff_id, str)):
        raise Unauthenticated("invalid_token", "the token is not valid")
    # Staff sign in to an account, so their token names it; the app's names its household.
    if role in STAFF_ROLES and staff_id is None:
        raise Unauthenticated("invalid_token", "the token is not valid")
    session_id = claims["sid"]
    if not isinstance(session_id, str) or not session_id:
        raise Unauthenticated("invalid_token", "the token is not valid")
    return Caller(role, **scope, region_ids=tuple(regions), staff_id=staff_id,
                  session_id=session_id)


def admit(caller, serves, named, region_of=None):
    """Let ``caller`` through a route serving ``serves``, naming ``named`` ids, or refuse."""
    check_role(caller, serves)
    check_scope(caller, named, region_of)


def check_role(caller, serves):
    if caller.role not in serves:
        raise Forbidden("forbidden_role", f"this route is not open to the {caller.role} role",
                        {"role": caller.role})


def check_scope(caller, named, region_of=None):
    """Refuse, as unknown, an id in ``named`` (path and body values) outside the caller's scope.

    ``region_of(name, value)`` finds the region of an organisation or a restaurant; it is asked
    only for an operator limited to some regions, and raises the unknown-id 404 itself.
    """
    claim = SCOPE_CLAIMS.get(caller.role)
    value = named.get(claim) if claim else None
    if value is not None and value != getattr(caller, claim):
        raise not_found(claim, value)

    if caller.limited_to_regions:
        for name in ("region_id", "organisation_id", "restaurant_id"):
            value = named.get(name)
            if value is None:
                continue
            region = value if name == "region_id" else region_of(name, value)
            if region not in caller.region_ids:
                raise not_found(name, value)


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


def check_metrics_token(authorization, expected):
    """Let Prometheus through to /metrics with ``Authorization: Bearer <expected>``; anyone
    when no metrics token is configured (a local stack)."""
    if not expected:
        return
    scheme, _, offered = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        raise Unauthenticated("missing_token",
                              "the metrics need an Authorization: Bearer <metrics token> header")
    if not hmac.compare_digest(offered.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthenticated("invalid_token", "the token is not valid")


class TokenDesk:
    """What a worker sees: tokens signed and read with this gateway's secret."""

    def __init__(self, secret, metrics_token=""):
        self._secret = secret
        self._metrics_token = metrics_token

    def caller_of(self, request):
        return read_token(request.headers.get("Authorization"), self._secret)

    def issue(self, caller):
        return issue_token(caller, self._secret)

    def check_metrics(self, request):
        check_metrics_token(request.headers.get("Authorization"), self._metrics_token)


class Tokens(DependencyProvider):
    """Reads the token secret and the metrics token from config once, at start, and refuses
    one anyone could know (:mod:`shokudo_common.signing_secrets`)."""

    def setup(self):
        config = self.container.config
        self.secret = checked_secret(SECRET_KEY, config.get(SECRET_KEY), config)
        metrics_token = str(config.get(METRICS_TOKEN_KEY) or "")
        self.metrics_token = metrics_token and checked_secret(METRICS_TOKEN_KEY, metrics_token,
                                                              config)

    def get_dependency(self, worker_ctx):
        return TokenDesk(self.secret, self.metrics_token)
