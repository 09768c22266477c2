import time

from shokudo_common.zones import RegionZones


def test_a_zone_read_is_remembered_until_its_minute_is_over(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    zones = RegionZones(memory_seconds=60)

    zones.remember("hoshizora-ku", "Asia/Tokyo")
    now[0] += 59.9
    assert zones.get("hoshizora-ku") == "Asia/Tokyo"

    now[0] += 0.1
    assert zones.get("hoshizora-ku") is None


def test_an_unknown_or_forgotten_region_has_no_zone():
    zones = RegionZones()
    zones.remember("hoshizora-ku", "Asia/Tokyo")
    zones.forget_all()

    assert zones.get("hoshizora-ku") is None
    assert zones.get("umibe-cho") is None
