"""The gateway's probes: live while it serves, ready while its broker and database answer."""

from shokudo_common.operations import ReadinessCheck


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
