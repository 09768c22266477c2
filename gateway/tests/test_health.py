"""The gateway's probes: live while it serves, ready while its broker and database answer."""

from types import SimpleNamespace

import pytest

from shokudo_common.operations import ReadinessCheck
from shokudo_common.signing_secrets import UnsafeSecret

from gateway import auth


def test_the_gateway_is_live_and_ready_with_its_broker_and_database(gateway):
    live = gateway.get("/health/live")
    ready = gateway.get("/health/ready")

    assert live.status_code == 200
    assert (ready.status_code, ready.json()) == (
        200, {"status": "ok", "checks": {"broker": "ok", "database": "ok"}})


def test_without_its_broker_the_gateway_is_live_but_not_ready(gateway, monkeypatch):
    def broker_away(self):
        raise ConnectionRefusedError("the broker is away")

    monkeypatch.setattr(ReadinessCheck, "_broker", broker_away)

    live = gateway.get("/health/live")
    ready = gateway.get("/health/ready")

    assert live.status_code == 200
    assert ready.status_code == 503
    error = ready.json()
    assert (error["code"], error["details"]) == (
        "not_ready", {"checks": {"broker": "failed", "database": "ok"}})


def test_without_its_database_the_gateway_is_live_but_not_ready(gateway, monkeypatch):
    def database_away(self, session):
        raise ConnectionRefusedError("the database is away")

    monkeypatch.setattr(ReadinessCheck, "_database", database_away)

    ready = gateway.get("/health/ready")

    assert ready.status_code == 503
    assert ready.json()["details"] == {"checks": {"broker": "ok", "database": "failed"}}


METRICS_TOKEN = "prometheus-bearer-token-of-at-least-32-bytes"


@pytest.fixture
def metrics_token(services):
    """The gateway as deployed: /metrics only for Prometheus's bearer token."""
    services.tokens.metrics_token = METRICS_TOKEN
    yield METRICS_TOKEN
    services.tokens.metrics_token = ""


def test_with_a_metrics_token_only_its_bearer_reads_the_metrics(gateway, metrics_token,
                                                                 token_for):
    anyone = gateway.get("/metrics")
    staff = gateway.get("/metrics", token=token_for("operator"))
    wrong = gateway.get("/metrics", token=metrics_token + "x")
    prometheus = gateway.get("/metrics", token=metrics_token)

    assert (anyone.status_code, anyone.json()["code"]) == (401, "missing_token")
    assert anyone.headers["WWW-Authenticate"].startswith("Bearer")
    assert (staff.status_code, staff.json()["code"]) == (401, "invalid_token")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_token")
    assert prometheus.status_code == 200
    assert "shokudo_gateway_" in prometheus.text and "shokudo_gateway_" not in anyone.text


def test_with_a_metrics_token_the_probes_stay_open_and_say_only_up_or_ready(
        gateway, metrics_token, monkeypatch):
    live, ready = gateway.get("/health/live"), gateway.get("/health/ready")

    assert (live.status_code, live.json()) == (200, {"status": "ok", "checks": {}})
    assert ready.status_code == 200

    def broker_away(self):
        raise ConnectionRefusedError("amqp://guest:guest@10.0.0.7:5672 refused")

    monkeypatch.setattr(ReadinessCheck, "_broker", broker_away)
    not_ready = gateway.get("/health/ready")

    assert not_ready.status_code == 503
    assert "10.0.0.7" not in not_ready.text and "guest" not in not_ready.text


def test_a_placeholder_or_short_metrics_token_stops_the_gateway_at_start():
    for token in ("REPLACE-WITH-A-LONG-RANDOM-STRING-FOR-PROMETHEUS", "short"):
        provider = auth.Tokens()
        provider.container = SimpleNamespace(config={
            "GATEWAY_TOKEN_SECRET": "a-long-enough-gateway-token-secret-for-tests",
            "GATEWAY_METRICS_TOKEN": token})
        with pytest.raises(UnsafeSecret, match="GATEWAY_METRICS_TOKEN"):
            provider.setup()
