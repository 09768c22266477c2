"""The gateway's probes: live while it serves, ready while its broker answers."""

from shokudo_common.operations import ReadinessCheck


def test_the_gateway_is_live_and_ready_with_its_broker(gateway):
    live = gateway.get("/health/live")
    ready = gateway.get("/health/ready")

    assert live.status_code == 200
    assert (ready.status_code, ready.json()) == (200, {"status": "ok",
                                                       "checks": {"broker": "ok"}})


def test_without_its_broker_the_gateway_is_live_but_not_ready(gateway, monkeypatch):
    def broker_away(self):
        raise ConnectionRefusedError("the broker is away")

    monkeypatch.setattr(ReadinessCheck, "_broker", broker_away)

    live = gateway.get("/health/live")
    ready = gateway.get("/health/ready")

    assert live.status_code == 200
    assert ready.status_code == 503
    error = ready.json()["error"]
    assert (error["code"], error["details"]) == ("not_ready", {"checks": {"broker": "failed"}})
