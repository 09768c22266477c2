from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import jwt
import pytest

from shokudo_common.errors import Forbidden, NotFound
from shokudo_common.signing_secrets import UnsafeSecret

from gateway import auth, sessions
from gateway.errors import Unauthenticated

SECRET = "unit-test-secret-long-enough-for-hmac-sha256"
ORGANISATION_A = "aaaaaaaa-0000-4000-8000-000000000001"
ORGANISATION_B = "bbbbbbbb-0000-4000-8000-000000000002"
ORGANISATION_STAFF = (auth.OPERATOR, auth.ORGANISATION)


SESSION = "0f0e0d0c-0000-4000-8000-00000000000s"
STAFF = "5d0c1a9e-1111-4000-8000-00000000000a"


def bearer(caller, secret=SECRET, now=None):
    return "Bearer " + auth.issue_token(caller, secret, now=now)["access_token"]


def test_a_token_names_the_role_and_the_one_organisation_it_acts_for():
    staff = auth.Caller(auth.ORGANISATION, organisation_id=ORGANISATION_A, staff_id=STAFF,
                        session_id=SESSION)

    assert auth.read_token(bearer(staff), SECRET) == staff


def test_an_access_token_lasts_fifteen_minutes():
    issued = datetime.now(timezone.utc) - timedelta(minutes=16)
    operator = auth.Caller(auth.OPERATOR, staff_id=STAFF, session_id=SESSION)

    assert auth.issue_token(operator, SECRET)["expires_in"] == 15 * 60
    with pytest.raises(Unauthenticated) as raised:
        auth.read_token(bearer(operator, now=issued), SECRET)
    assert raised.value.code == "token_expired"


def test_an_operator_token_carries_its_region_limit():
    limited = auth.Caller(auth.OPERATOR, region_ids=("hoshizora-ku", "tsukimi-ku"),
                          staff_id=STAFF, session_id=SESSION)
    everywhere = auth.Caller(auth.OPERATOR, staff_id=STAFF, session_id=SESSION)

    assert auth.read_token(bearer(limited), SECRET) == limited
    assert auth.read_token(bearer(everywhere), SECRET).region_ids == ()


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc",
])
def test_no_bearer_token_is_unauthenticated(header):
    with pytest.raises(Unauthenticated) as raised:
        auth.read_token(header, SECRET)
    assert raised.value.code == "missing_token"


def test_a_token_signed_with_another_secret_or_tampered_with_is_refused():
    operator = auth.Caller(auth.OPERATOR, staff_id=STAFF, session_id=SESSION)
    forged = bearer(operator, secret="someone-elses-secret-that-is-also-32-bytes")
    header, claims, signature = bearer(operator).split(".")

    for token in (forged, f"{header}.{claims}x.{signature}", "Bearer not-a-jwt"):
        with pytest.raises(Unauthenticated) as raised:
            auth.read_token(token, SECRET)
        assert raised.value.code == "invalid_token"


@pytest.mark.parametrize("claims", [
    {"role": "superuser"},
    {"role": "organisation"},                       # scoped role without its id
    {"role": "household", "household_id": 42},
    {"role": "operator", "regions": "hoshizora-ku"},
    {"role": "organisation", "organisation_id": ORGANISATION_A, "regions": ["hoshizora-ku"]},
    {"role": "operator", "sub": STAFF, "sid": None},              # no session
    {"role": "operator", "sid": SESSION, "sub": None},            # staff without an account
    {"role": "household", "household_id": ORGANISATION_A, "sid": 7, "sub": None},
])
def test_a_signed_token_with_a_role_that_cannot_be_scoped_is_refused(claims):
    now = datetime.now(timezone.utc)
    token = jwt.encode({"iss": auth.ISSUER, "iat": now, "exp": now + timedelta(hours=1),
                        "sid": SESSION, "sub": STAFF, **claims}, SECRET, algorithm="HS256")

    with pytest.raises(Unauthenticated):
        auth.read_token(f"Bearer {token}", SECRET)


def test_an_unsigned_token_is_refused():
    now = datetime.now(timezone.utc)
    token = jwt.encode({"iss": auth.ISSUER, "role": "operator", "iat": now,
                        "exp": now + timedelta(hours=1)}, None, algorithm="none")

    with pytest.raises(Unauthenticated):
        auth.read_token(f"Bearer {token}", SECRET)


def test_a_role_the_route_does_not_serve_is_forbidden():
    restaurant = auth.Caller(auth.RESTAURANT, restaurant_id=ORGANISATION_A)

    with pytest.raises(Forbidden) as raised:
        auth.admit(restaurant, ORGANISATION_STAFF, {"organisation_id": ORGANISATION_A})
    assert raised.value.code == "forbidden_role"


def test_another_organisations_id_reads_exactly_like_an_unknown_one():
    staff = auth.Caller(auth.ORGANISATION, organisation_id=ORGANISATION_A)

    with pytest.raises(NotFound) as raised:
        auth.admit(staff, ORGANISATION_STAFF, {"organisation_id": ORGANISATION_B})

    unknown = auth.not_found("organisation_id", ORGANISATION_B)
    assert raised.value.as_dict() == unknown.as_dict()
    assert raised.value.as_dict()["code"] == "organisation_not_found"


def test_the_operator_reaches_every_organisation_and_staff_their_own():
    auth.admit(auth.Caller(auth.OPERATOR), ORGANISATION_STAFF,
               {"organisation_id": ORGANISATION_B})
    auth.admit(auth.Caller(auth.ORGANISATION, organisation_id=ORGANISATION_A),
               ORGANISATION_STAFF, {"organisation_id": ORGANISATION_A})


@pytest.mark.parametrize("url, serves", [
    ("/v1/regions/<region_id>/organisations", (auth.ORGANISATION,)),
    ("/v1/restaurants/<restaurant_id>/redemptions", (auth.ORGANISATION,)),
    ("/v1/organisations/<organisation_id>/households", (auth.HOUSEHOLD,)),
    ("/v1/regions/<region_id>/program", ("superuser",)),
])
def test_a_route_whose_scope_cannot_be_checked_is_refused_at_declaration(url, serves):
    with pytest.raises(ValueError):
        auth.check_declaration(url, serves)


def test_an_operator_limited_to_a_region_reaches_only_ids_of_that_region():
    limited = auth.Caller(auth.OPERATOR, region_ids=("hoshizora-ku",))
    regions = {ORGANISATION_A: "hoshizora-ku", ORGANISATION_B: "tsukimi-ku"}

    def region_of(name, value):
        return regions[value]

    auth.check_scope(limited, {"region_id": "hoshizora-ku"}, region_of)
    auth.check_scope(limited, {"organisation_id": ORGANISATION_A}, region_of)
    for named in ({"region_id": "tsukimi-ku"}, {"organisation_id": ORGANISATION_B}):
        with pytest.raises(NotFound) as raised:
            auth.check_scope(limited, named, region_of)
        [(name, value)] = named.items()
        assert raised.value.as_dict() == auth.not_found(name, value).as_dict()


def test_an_operator_of_every_region_is_never_asked_where_an_id_belongs():
    def region_of(name, value):
        raise AssertionError("looked up a region for an unlimited operator")

    auth.check_scope(auth.Caller(auth.OPERATOR), {"organisation_id": ORGANISATION_B},
                     region_of)


@pytest.mark.parametrize("secret", [
    "REPLACE-WITH-A-LONG-RANDOM-STRING-FOR-ACCESS-TOKENS",
    "too-short-a-secret",
    "local-development-token-secret-not-for-production",
])
def test_the_gateway_refuses_to_start_with_a_secret_anyone_could_know(secret):
    for provider in (auth.Tokens(), sessions.Sessions()):
        provider.container = SimpleNamespace(config={
            "GATEWAY_TOKEN_SECRET": secret, "DB_URI": "postgresql+psycopg2://nobody@nowhere/x"})
        with pytest.raises(UnsafeSecret, match="GATEWAY_TOKEN_SECRET"):
            provider.setup()


def test_the_development_default_is_taken_with_the_local_stacks_switch():
    provider = auth.Tokens()
    provider.container = SimpleNamespace(config={
        "GATEWAY_TOKEN_SECRET": "local-development-token-secret-not-for-production",
        "ALLOW_DEVELOPMENT_SECRETS": "true"})

    provider.setup()

    assert provider.secret == "local-development-token-secret-not-for-production"
