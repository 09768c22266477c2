from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import jwt

from redemption.qr import QrTokens, QrTokenSigner

SECRET = "a-test-secret-of-at-least-32-bytes"
OTHER_SECRET = "another-secret-of-at-least-32-bytes"
HOUSEHOLD = "0b7c9a52-4f0e-4d3b-9a51-2f6c1e8d7a90"
ISSUED = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)


def test_a_fresh_token_names_its_household_and_expires_two_minutes_later():
    signer = QrTokenSigner(SECRET, 120)

    token, expires_at = signer.issue(HOUSEHOLD, ISSUED)

    assert expires_at == ISSUED + timedelta(seconds=120)
    assert signer.household_of(token, ISSUED + timedelta(seconds=119)) == HOUSEHOLD
    assert signer.household_of(token, ISSUED + timedelta(seconds=120)) is None


def test_the_lifetime_follows_configuration():
    signer = QrTokenSigner(SECRET, 30)
    token, _ = signer.issue(HOUSEHOLD, ISSUED)

    assert signer.household_of(token, ISSUED + timedelta(seconds=31)) is None


def test_a_token_signed_with_another_secret_is_refused():
    token, _ = QrTokenSigner(OTHER_SECRET).issue(HOUSEHOLD, ISSUED)

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
    token, expires_at = provider.get_dependency(None).issue(HOUSEHOLD, ISSUED)

    assert expires_at == ISSUED + timedelta(seconds=45)
    assert QrTokenSigner(SECRET).household_of(token, ISSUED) == HOUSEHOLD
