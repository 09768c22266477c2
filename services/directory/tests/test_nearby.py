"""The nearby search against a real database, at fixed moments of the region's local time."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory

from shokudo_common.clock import FixedClock
from shokudo_common.errors import InvalidInput
from shokudo_common.testing import outbox_writer

from directory.service import DirectoryService

REGION = "hoshizora-ku"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
TOKYO = ZoneInfo("Asia/Tokyo")
SATURDAY_2330 = datetime(2026, 12, 5, 23, 30, tzinfo=TOKYO)
HERE = {"latitude": 35.7000, "longitude": 139.7000}
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def metres_north(metres):
    return HERE["latitude"] + metres / 111_195.0


@pytest.fixture
def clock():
    return FixedClock(SATURDAY_2330)


@pytest.fixture
def service(session, clock):
    return worker_factory(DirectoryService, db=session, outbox=outbox_writer(), clock=clock)


@pytest.fixture
def add(service):
    """``add("name", metres=300, ...)``: an approved restaurant that far north of HERE."""

    def add(name, metres, opening_hours=None, status="active", **details):
        data = {
            "region_id": REGION, "organisation_id": ORGANISATION, "name": name,
            "name_kana": "テスト", "address": "星空区青葉1-2-3", "area": "青葉",
            "latitude": metres_north(metres), "longitude": HERE["longitude"],
            "phone": "03-1234-5678",
            "opening_hours": opening_hours or {day: [{"opens": "11:00", "closes": "21:00"}]
                                               for day in EVERY_DAY},
            **details,
        }
        restaurant = service.nominate_restaurant(data)
        if status == "active":
            service.approve_restaurant(restaurant["id"])
        return restaurant["id"]

    return add


def names(answer):
    return [restaurant["name"] for restaurant in answer["restaurants"]]


def test_open_now_late_on_saturday_finds_the_late_restaurant_and_not_the_saturday_closed(
        service, add):
    late_until_one = {day: [{"opens": "17:00", "closes": "01:00"}] for day in EVERY_DAY}
    closed_on_saturday = {day: [{"opens": "17:00", "closes": "02:00"}]
                          for day in EVERY_DAY if day != "sat"}
    add("遠い居酒屋", 900, late_until_one)
    add("土曜定休の店", 100, closed_on_saturday)
    add("近いバー食堂", 300, late_until_one)
    add("昼だけ食堂", 50)

    answer = service.nearby_restaurants(REGION, {**HERE, "open_now": True})

    assert names(answer) == ["近いバー食堂", "遠い居酒屋"]
    assert [r["distance_m"] for r in answer["restaurants"]] == [300, 900]
    assert all(r["open_now"] for r in answer["restaurants"])
    assert answer["local_time"] == "2026-12-05T23:30+09:00"
    assert answer["time_zone"] == "Asia/Tokyo"


def test_a_saturday_span_past_midnight_keeps_the_restaurant_open_early_on_sunday(
        service, add, clock):
    add("土曜の夜だけ", 200, {"sat": [{"opens": "17:00", "closes": "01:00"}]})

    clock.set(datetime(2026, 12, 6, 0, 30, tzinfo=TOKYO))
    open_at_half_past = names(service.nearby_restaurants(REGION, {**HERE, "open_now": True}))
    clock.set(datetime(2026, 12, 6, 1, 0, tzinfo=TOKYO))
    open_at_one = names(service.nearby_restaurants(REGION, {**HERE, "open_now": True}))

    assert open_at_half_past == ["土曜の夜だけ"]
    assert open_at_one == []


def test_open_now_is_decided_in_the_regions_own_time_zone(service, add, clock):
    add("昼の店", 100, {"sat": [{"opens": "11:00", "closes": "14:00"}]})
    # 12:00 on Saturday in Honolulu is 07:00 on Sunday in Tokyo.
    clock.set(datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("Pacific/Honolulu")))

    in_tokyo = names(service.nearby_restaurants(REGION, {**HERE, "open_now": True}))
    service.on_program_updated({"event_id": "e-1", "region_id": REGION,
                                "time_zone": "Pacific/Honolulu", "amount_yen": 3000})
    in_honolulu = service.nearby_restaurants(REGION, {**HERE, "open_now": True})

    assert in_tokyo == []
    assert names(in_honolulu) == ["昼の店"]
    assert in_honolulu["time_zone"] == "Pacific/Honolulu"


def test_without_open_now_every_active_restaurant_nearby_is_listed_and_says_if_it_is_open(
        service, add):
    add("昼だけ食堂", 100)
    add("夜の店", 200, {"sat": [{"opens": "17:00", "closes": "01:00"}]})
    add("まだ承認待ち", 50, status="pending")

    answer = service.nearby_restaurants(REGION, HERE)

    assert [(r["name"], r["open_now"]) for r in answer["restaurants"]] == [
        ("昼だけ食堂", False), ("夜の店", True)]


def test_the_radius_and_the_limit_bound_the_answer(service, add):
    add("500m", 500)
    add("1500m", 1500)
    add("2500m", 2500)

    assert names(service.nearby_restaurants(REGION, {**HERE, "radius_m": 1000})) == ["500m"]
    assert names(service.nearby_restaurants(REGION, HERE)) == ["500m", "1500m"]
    assert names(service.nearby_restaurants(REGION, {**HERE, "radius_m": 3000,
                                                     "limit": 2})) == ["500m", "1500m"]


def test_another_regions_restaurants_are_not_found(service, add):
    add("隣の区の店", 100, region_id="tsukiyo-ku")

    assert names(service.nearby_restaurants(REGION, HERE)) == []
    assert names(service.nearby_restaurants("tsukiyo-ku", HERE)) == ["隣の区の店"]


@pytest.mark.parametrize("typed", ["ミドリ", "みどり", "ﾐﾄﾞﾘ", "ﾐﾄﾞﾘ ｼｮｸﾄﾞｳ", "緑", "青葉台"])
def test_text_search_matches_name_kana_area_and_address_however_typed(service, add, typed):
    add("緑の食堂", 100, name_kana="ミドリノショクドウ", area="青葉台")
    add("うみ亭", 200, name_kana="ウミテイ", area="港", address="星空区港1-1")

    assert names(service.nearby_restaurants(REGION, {**HERE, "q": typed})) == ["緑の食堂"]


def test_text_search_finds_by_address_and_takes_wildcards_literally(service, add):
    add("うみ亭", 200, name_kana="ウミテイ", area="港", address="星空区港1-1")

    assert names(service.nearby_restaurants(REGION, {**HERE, "q": "港1-1"})) == ["うみ亭"]
    assert names(service.nearby_restaurants(REGION, {**HERE, "q": "%"})) == []


def test_flags_filter_keeps_restaurants_with_every_flag_asked(service, add):
    add("子ども歓迎", 100, flags=["children_alone_welcome"])
    add("両方", 200, flags=["children_alone_welcome", "allergy_menu"])
    add("何もなし", 300)

    both = service.nearby_restaurants(REGION, {**HERE, "flags": ["allergy_menu",
                                                                 "children_alone_welcome"]})
    welcome = service.nearby_restaurants(REGION, {**HERE, "flags": ["children_alone_welcome"]})

    assert names(both) == ["両方"]
    assert names(welcome) == ["子ども歓迎", "両方"]
    # Each flag comes with the words families read, Japanese first.
    [restaurant] = both["restaurants"]
    assert restaurant["flag_labels"] == [
        {"code": "children_alone_welcome", "ja": "子どもだけでも歓迎",
         "en": "Children on their own welcome"},
        {"code": "allergy_menu", "ja": "アレルギー対応メニューあり", "en": "Allergy-friendly menu"},
    ]


def test_a_change_of_hours_or_name_is_searched_at_once(service, add):
    restaurant_id = add("旧名", 100, {"mon": [{"opens": "11:00", "closes": "14:00"}]})

    service.update_restaurant(restaurant_id, {
        "name": "新名食堂", "opening_hours": {"sat": [{"opens": "22:00", "closes": "02:00"}]}})

    found = service.nearby_restaurants(REGION, {**HERE, "open_now": True, "q": "新名"})
    assert names(found) == ["新名食堂"]


def test_bad_criteria_name_every_bad_field(service):
    with pytest.raises(InvalidInput) as raised:
        service.nearby_restaurants(REGION, {"latitude": 91, "radius_m": 0, "limit": 500,
                                            "flags": ["free_beer"]})

    assert set(raised.value.details["fields"]) == {
        "latitude", "longitude", "radius_m", "limit", "flags"}
