"""Signing secrets are checked when a service starts: one that anyone could know stops it.

The gateway signs access tokens (``GATEWAY_TOKEN_SECRET``) and redemption signs QR codes
(``QR_TOKEN_SECRET``) with HMAC-SHA256, and Prometheus reads the gateway's metrics with a bearer
token (``GATEWAY_METRICS_TOKEN``). Whoever knows the secret can make a token for any role
or any household's ticket, so a service refuses to start with a secret that is

    a placeholder          it starts with REPLACE (deploy/k8s's secret.yaml, filled in by hand)
    short                  under 32 bytes, which HS256 needs to be as strong as its hash
    a development default  the value config.yaml or docker-compose.yml falls back to

unless the development switch ``SHOKUDO_ALLOW_DEVELOPMENT_SECRETS`` is on (config key
``ALLOW_DEVELOPMENT_SECRETS``): the local stacks (``make demo``, the end-to-end tests,
``docker compose up``) turn it on, so that they start without any secret to set. Placeholders
and short secrets are refused even then.
"""

DEVELOPMENT_SWITCH = "SHOKUDO_ALLOW_DEVELOPMENT_SECRETS"
SWITCH_CONFIG_KEY = "ALLOW_DEVELOPMENT_SECRETS"
PLACEHOLDER_PREFIX = "REPLACE"
MIN_BYTES = 32

# The fallbacks written in config.yaml and docker-compose.yml: public, in the repository.
DEVELOPMENT_DEFAULTS = frozenset({
    "local-development-token-secret-not-for-production",
    "local-development-qr-secret-change-me",
    "compose-local-token-secret-change-me",
    "compose-local-qr-secret-change-me",
    "compose-local-metrics-token-change-me-with-the-gateway",
})

_ON = {"1", "true", "yes", "on"}


class UnsafeSecret(RuntimeError):
    """A signing secret the service will not sign with; the message says why and what to do."""


def development_allowed(config):
    """Whether the development switch is on in a nameko config (a YAML bool or a string)."""
    value = config.get(SWITCH_CONFIG_KEY, False)
    return value is True or str(value).strip().lower() in _ON


def checked_secret(name, value, config):
    """``value`` if it may sign tokens for the service configured by ``config``, else raise."""
    text = value if isinstance(value, str) else ""
    advice = (f"set {name} to a long random string, e.g. "
              "python -c \"import secrets; print(secrets.token_urlsafe(48))\"")

    if text.strip().upper().startswith(PLACEHOLDER_PREFIX):
        raise UnsafeSecret(f"{name} is still the placeholder of the deployment files; {advice}")
    if len(text.encode("utf-8")) < MIN_BYTES:
        raise UnsafeSecret(f"{name} is shorter than {MIN_BYTES} bytes; {advice}")
    if text in DEVELOPMENT_DEFAULTS and not development_allowed(config):
        raise UnsafeSecret(
            f"{name} is the development default written in the repository; {advice} "
            f"(local stacks set {DEVELOPMENT_SWITCH}=true to use it)")
    return text
