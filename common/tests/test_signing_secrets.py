"""Signing secrets anyone could know stop a service at start."""

from pathlib import Path

import pytest

from shokudo_common.signing_secrets import (
    DEVELOPMENT_DEFAULTS, UnsafeSecret, checked_secret, development_allowed,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD = "Zm9vYmFyYmF6cXV4LXJhbmRvbS1zdHJpbmctZm9yLXRlc3Rz"
DEVELOPMENT = {"ALLOW_DEVELOPMENT_SECRETS": True}


def test_a_long_random_secret_is_taken_with_or_without_the_switch():
    assert checked_secret("X_SECRET", GOOD, {}) == GOOD
    assert checked_secret("X_SECRET", GOOD, DEVELOPMENT) == GOOD


@pytest.mark.parametrize("secret, why", [
    ("REPLACE-WITH-A-LONG-RANDOM-STRING-FOR-ACCESS-TOKENS", "placeholder"),
    ("replace-me-with-something-much-longer-than-32-bytes", "placeholder"),
    ("short-but-not-a-placeholder", "shorter than 32 bytes"),
    ("", "shorter than 32 bytes"),
    (None, "shorter than 32 bytes"),
])
@pytest.mark.parametrize("config", [{}, DEVELOPMENT], ids=["deployment", "development"])
def test_a_placeholder_or_a_short_secret_is_refused_even_in_development(secret, why, config):
    with pytest.raises(UnsafeSecret, match=why) as refused:
        checked_secret("X_SECRET", secret, config)
    assert "X_SECRET" in str(refused.value)


@pytest.mark.parametrize("secret", sorted(DEVELOPMENT_DEFAULTS))
def test_a_development_default_is_refused_unless_the_switch_is_on(secret):
    with pytest.raises(UnsafeSecret, match="SHOKUDO_ALLOW_DEVELOPMENT_SECRETS"):
        checked_secret("X_SECRET", secret, {"ALLOW_DEVELOPMENT_SECRETS": "false"})

    assert checked_secret("X_SECRET", secret, DEVELOPMENT) == secret


@pytest.mark.parametrize("value, on", [
    (True, True), ("true", True), ("1", True), ("yes", True), ("TRUE ", True),
    (False, False), ("false", False), ("", False), (None, False), ("0", False),
])
def test_the_switch_reads_yaml_booleans_and_strings(value, on):
    assert development_allowed({"ALLOW_DEVELOPMENT_SECRETS": value}) is on
    assert development_allowed({}) is False


def test_every_development_default_in_the_repository_is_known():
    """The fallbacks in config.yaml and docker-compose.yml are all in the refused list."""
    written = {
        "gateway/config.yaml": "GATEWAY_TOKEN_SECRET: ${GATEWAY_TOKEN_SECRET:",
        "services/redemption/config.yaml": "QR_TOKEN_SECRET: ${QR_TOKEN_SECRET:",
        "docker-compose.yml": "SECRET: ${",
    }
    found = set()
    for path, marker in written.items():
        for line in (ROOT / path).read_text().splitlines():
            if marker in line and "_TOKEN_SECRET" in line:
                found.add(line.split(":", 2)[-1].lstrip("-").rstrip("}").strip())
    assert len(found) == 4
    assert found <= DEVELOPMENT_DEFAULTS
