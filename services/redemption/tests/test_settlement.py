"""Closing a restaurant's month and the settlement export: the same figures as the statements."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shokudo_common.errors import Conflict, InvalidInput, NotFound

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"


def pay(service, clock, moment, restaurant_id, card, bill_yen):
    clock.set(moment)
    answer = service.redeem({"restaurant_id": restaurant_id, "bill_yen": bill_yen,
                             "card_number": card})
    assert answer["outcome"] == "applied", answer
    return answer


@pytest.fixture
def march(service, world, clock):
    """Two restaurants' March in Tokyo, one meal voided, and a restaurant of another region."""
    green = world.restaurant(name="みどり食堂")
    sea = world.restaurant(name="うみ亭, 本店")  # a comma, for the CSV quoting
    elsewhere = world.restaurant(region_id="umibe-shi", name="よその店")
    _, first, _ = world.family_with_card()
    _, second, _ = world.family_with_card()
    neighbour = world.household(region_id="umibe-shi")
    third = world.card(neighbour, region_id="umibe-shi")
    world.tickets([neighbour], region_id="umibe-shi")

    pay(service, clock, datetime(2026, 3, 3, 12, 0, tzinfo=TOKYO), green, first, 1200)
    mistaken = pay(service, clock, datetime(2026, 3, 3, 12, 1, tzinfo=TOKYO), green, first, 1200)
    service.void_redemption(green, mistaken["redemption_id"])
    pay(service, clock, datetime(2026, 3, 20, 18, 0, tzinfo=TOKYO), green, second, 800)
    pay(service, clock, datetime(2026, 3, 31, 23, 30, tzinfo=TOKYO), sea, second, 4000)
    pay(service, clock, datetime(2026, 3, 5, 12, 0, tzinfo=TOKYO), elsewhere, third, 700)
    clock.set(datetime(2026, 4, 2, 10, 0, tzinfo=TOKYO))
    return {"green": green, "sea": sea, "elsewhere": elsewhere}


def read_csv(text):
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# -- closing a month -------------------------------------------------------------------------


def test_closing_a_statement_records_who_and_when_and_freezes_its_totals(service, march):
    closed = service.close_statement(march["green"], "2026-03")

    assert closed == {
        "restaurant_id": march["green"], "month": "2026-03",
        "closed_at": "2026-04-02T10:00:00+09:00", "closed_by": "operator",
        "redemptions": 2, "voids": 1, "total_yen": 2000,
    }
    statement = service.restaurant_statement(march["green"], "2026-03")
    assert (statement["closed"], statement["closed_at"]) == (True, "2026-04-02T10:00:00+09:00")
    assert service.restaurant_statement(march["sea"], "2026-03")["closed"] is False


def test_closing_again_changes_nothing_and_answers_the_same(service, march, clock):
    first = service.close_statement(march["green"], "2026-03")
    clock.set(datetime(2026, 4, 9, 10, 0, tzinfo=TOKYO))

    assert service.close_statement(march["green"], "2026-03") == first


def test_a_month_that_is_not_over_in_tokyo_cannot_be_closed(service, march, clock):
    clock.set(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO))

    with pytest.raises(Conflict) as raised:
        service.close_statement(march["green"], "2026-03")

    assert raised.value.code == "month_not_over"
    assert service.restaurant_statement(march["green"], "2026-03")["closed"] is False


def test_a_month_over_in_tokyo_can_be_closed_though_utc_is_still_in_it(service, march, clock):
    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=TOKYO))  # 15:30 on 31 March in UTC

    assert service.close_statement(march["green"], "2026-03")["closed_by"] == "operator"


def test_closing_an_unknown_restaurant_or_a_bad_month_is_refused(service, march):
    with pytest.raises(NotFound, match="restaurant_not_found"):
        service.close_statement("00000000-0000-4000-8000-000000000000", "2026-03")
    with pytest.raises(InvalidInput):
        service.close_statement(march["green"], "2026-13")


# -- the settlement export -------------------------------------------------------------------


def test_the_settlement_has_one_line_per_restaurant_equal_to_its_statement(service, march):
    lines = read_csv(service.settlement_csv(REGION, "2026-03"))

    assert [line["restaurant_id"] for line in lines] == [march["sea"], march["green"]]
    for line in lines:
        statement = service.restaurant_statement(line["restaurant_id"], "2026-03")
        assert line["restaurant_name"] == statement["restaurant_name"]
        assert int(line["redemptions"]) == statement["redemptions"]
        assert int(line["voids"]) == statement["voids"]
        assert int(line["yen_owed"]) == statement["total_yen"]
    assert [(line["redemptions"], line["voids"], line["yen_owed"]) for line in lines] == [
        ("1", "0", "2200"), ("2", "1", "2000")]


def test_the_settlement_is_utf8_with_a_byte_order_mark_for_excel(service, march):
    text = service.settlement_csv(REGION, "2026-03")

    assert text.encode("utf-8").startswith(b"\xef\xbb\xbfrestaurant_id,restaurant_name,")
    assert "\r\n" in text
    assert '"うみ亭, 本店"' in text


def test_a_closed_statement_shows_in_the_settlement(service, march):
    service.close_statement(march["green"], "2026-03")

    closed = {line["restaurant_id"]: line["statement_closed_at"]
              for line in read_csv(service.settlement_csv(REGION, "2026-03"))}

    assert closed == {march["green"]: "2026-04-02T10:00:00+09:00", march["sea"]: ""}


def test_a_month_without_redemptions_has_only_the_header(service, march):
    lines = read_csv(service.settlement_csv(REGION, "2026-05"))

    assert lines == []
