from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import jwt
import pytest

from shokudo_common.signing_secrets import UnsafeSecret

from redemption.qr import QrTokens, QrTokenSigner

SECRET = "a-test-secret-of-at-least-32-bytes"
OTHER_SECRET = "another-secret-of-at-least-32-bytes"
HOUSEHOLD = "0b7c9a52-4f0e-4d3b-9a51-2f6c1e8d7a90"
ISSUED = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)
TICKET = SimpleNamespace(id="5d0c7f8e-8f43-4d43-9c38-1f1f0b5f2a11", period="2026-02")


def test_a_fresh_token_names_its_household_and_expires_two_minutes_later():
    signer = QrTokenSigner(SECRET, 120)

    token, expires_at = signer.issue(HOUSEHOLD, TICKET, ISSUED)

    assert expires_at == ISSUED + timedelta(seconds=120)
    assert signer.household_of(token, ISSUED + timedelta(seconds=119)) == HOUSEHOLD
    assert signer.household_of(token, ISSUED + timedelta(seconds=120)) is None


def test_the_lifetime_follows_configuration():
    signer = QrTokenSigner(SECRET, 30)
    token, _ = signer.issue(HOUSEHOLD, TICKET, ISSUED)

    assert signer.household_of(token, ISSUED + timedelta(seconds=31)) is None


def test_a_token_signed_with_another_secret_is_refused():
    token, _ = QrTokenSigner(OTHER_SECRET).issue(HOUSEHOLD, TICKET, ISSUED)

    assert QrTokenSigner(SECRET).household_of(token, ISSUED) is None


def good_claims(**changes):
    claims = {"typ": "qr", "sub": HOUSEHOLD, "per": TICKET.period, "tkt": TICKET.id,
              "jti": "0" * 32, "exp": int(ISSUED.timestamp()) + 60}
    return {name: value for name, value in {**claims, **changes}.items() if value is not None}


def test_a_token_names_its_household_ticket_period_and_its_own_id():
    token, _ = QrTokenSigner(SECRET).issue(HOUSEHOLD, TICKET, ISSUED)

    shown = QrTokenSigner(SECRET).read(token, ISSUED)

    assert (shown.household_id, shown.ticket_id, shown.period) == \
        (HOUSEHOLD, TICKET.id, TICKET.period)
    assert len(shown.jti) == 32 and shown.refusal is None


def test_two_tokens_for_the_same_ticket_have_their_own_ids():
    signer = QrTokenSigner(SECRET)
    first, _ = signer.issue(HOUSEHOLD, TICKET, ISSUED)
    second, _ = signer.issue(HOUSEHOLD, TICKET, ISSUED)

    assert signer.read(first, ISSUED).jti != signer.read(second, ISSUED).jti


def test_an_expired_token_is_refused_as_expired_and_a_forged_one_as_invalid():
    signer = QrTokenSigner(SECRET, 120)
    token, _ = signer.issue(HOUSEHOLD, TICKET, ISSUED)
    forged, _ = QrTokenSigner(OTHER_SECRET).issue(HOUSEHOLD, TICKET, ISSUED)

    assert signer.read(token, ISSUED + timedelta(seconds=120)).refusal == "qr_token_expired"
    # A forgery is invalid even once past its own expiry: its claims mean nothing.
    assert signer.read(forged, ISSUED + timedelta(seconds=300)).refusal == "qr_token_invalid"


def test_a_tampered_token_is_invalid():
    token, _ = QrTokenSigner(SECRET).issue(HOUSEHOLD, TICKET, ISSUED)
    header, payload, signature = token.split(".")
    other = jwt.encode(good_claims(sub="someone-else"), SECRET, algorithm="HS256")
    tampered = ".".join([header, other.split(".")[1], signature])

    assert QrTokenSigner(SECRET).read(tampered, ISSUED).refusal == "qr_token_invalid"


@pytest.mark.parametrize("changes", [
    {"typ": "access"}, {"per": None}, {"tkt": None}, {"jti": None}, {"sub": 42},
    {"jti": "x" * 65},
])
def test_a_signed_token_of_another_kind_or_missing_a_claim_is_invalid(changes):
    token = jwt.encode(good_claims(**changes), SECRET, algorithm="HS256")

    assert QrTokenSigner(SECRET).read(token, ISSUED).refusal == "qr_token_invalid"
    assert QrTokenSigner(SECRET).household_of(token, ISSUED) is None


def test_a_signed_token_of_another_kind_is_refused():
    claims = {"typ": "access", "sub": HOUSEHOLD, "exp": int(ISSUED.timestamp()) + 60}
    token = jwt.encode(claims, SECRET, algorithm="HS256")

    assert QrTokenSigner(SECRET).household_of(token, ISSUED) is None


def test_an_unsigned_or_garbled_token_is_refused():
    claims = {"typ": "qr", "sub": HOUSEHOLD, "exp": int(ISSUED.timestamp()) + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")

    assert QrTokenSigner(SECRET).household_of(unsigned, ISSUED) is None
    assert QrTokenSigner(SECRET).household_of("not-a-token", ISSUED) is None


def test_the_service_reads_its_secret_and_lifetime_from_configuration():
    provider = QrTokens()
    provider.container = SimpleNamespace(config={"QR_TOKEN_SECRET": SECRET,
                                                 "QR_TOKEN_SECONDS": "45"})

    provider.setup()
    token, expires_at = provider.get_dependency(None).issue(HOUSEHOLD, TICKET, ISSUED)

    assert expires_at == ISSUED + timedelta(seconds=45)
    assert QrTokenSigner(SECRET).household_of(token, ISSUED) == HOUSEHOLD


@pytest.mark.parametrize("secret", [
    "REPLACE-WITH-ANOTHER-LONG-RANDOM-STRING-FOR-QR-CODES",
    "too-short-a-secret",
    "local-development-qr-secret-change-me",
])
def test_the_service_refuses_to_start_with_a_secret_anyone_could_know(secret):
    provider = QrTokens()
    provider.container = SimpleNamespace(config={"QR_TOKEN_SECRET": secret})

    with pytest.raises(UnsafeSecret, match="QR_TOKEN_SECRET"):
        provider.setup()


def test_the_development_default_is_taken_with_the_local_stacks_switch():
    provider = QrTokens()
    provider.container = SimpleNamespace(config={
        "QR_TOKEN_SECRET": "local-development-qr-secret-change-me",
        "ALLOW_DEVELOPMENT_SECRETS": True})

    provider.setup()

    assert provider.get_dependency(None).secret == "local-development-qr-secret-change-me"
