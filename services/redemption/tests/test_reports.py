"""Balances, histories, restaurant statements and region summaries, by local month."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shokudo_common.errors import InvalidInput, NotFound

TOKYO = ZoneInfo("Asia/Tokyo")
APRIL_WINDOW = dict(period="2026-03", valid_from="2026-04-01T00:00:00+09:00",
                    valid_until="2026-05-01T00:00:00+09:00")


def pay(service, clock, moment, restaurant_id, card, bill_yen):
    clock.set(moment)
    answer = service.redeem({"restaurant_id": restaurant_id, "bill_yen": bill_yen,
                             "card_number": card})
    assert answer["outcome"] == "applied", answer
    return answer


@pytest.fixture
def march(service, world, clock):
    """Two families eating in March at two restaurants, and one meal just after midnight."""
    green = world.restaurant(name="みどり食堂")
    sea = world.restaurant(name="うみ亭")
    first, first_card, _ = world.family_with_card()
    world.tickets([first], **APRIL_WINDOW)
    _, second_card, _ = world.family_with_card()

    pay(service, clock, datetime(2026, 3, 3, 12, 0, tzinfo=TOKYO), green, first_card, 1200)
    pay(service, clock, datetime(2026, 3, 31, 23, 30, tzinfo=TOKYO), green, first_card, 4000)
    pay(service, clock, datetime(2026, 4, 1, 0, 30, tzinfo=TOKYO), green, first_card, 500)
    pay(service, clock, datetime(2026, 3, 10, 18, 0, tzinfo=TOKYO), sea, second_card, 900)
    clock.set(datetime(2026, 3, 12, 18, 0, tzinfo=TOKYO))
    service.redeem({"restaurant_id": sea, "bill_yen": 900, "card_number": world.unknown_card()})
    return {"green": green, "sea": sea, "first": first}


def test_a_statement_sums_the_redemptions_of_its_local_month(service, march):
    statement = service.restaurant_statement(march["green"], "2026-03")

    assert statement["month"] == "2026-03"
    assert statement["restaurant_name"] == "みどり食堂"
    assert statement["redemptions"] == 2
    assert statement["total_yen"] == 1200 + 1800
    assert statement["pay_at_counter_yen"] == 2200
    assert [line["applied_yen"] for line in statement["lines"]] == [1200, 1800]
    assert statement["lines"][1]["at"] == "2026-03-31T23:30:00+09:00"
    assert set(statement["lines"][0]) >= {"redemption_id", "at", "applied_yen"}
    assert not any("household_id" in line for line in statement["lines"])


def test_a_meal_after_midnight_on_the_first_belongs_to_the_new_month_though_utc_disagrees(
        service, march):
    april = service.restaurant_statement(march["green"], "2026-04")

    assert (april["redemptions"], april["total_yen"]) == (1, 500)
    assert april["lines"][0]["at"] == "2026-04-01T00:30:00+09:00"
    assert april["lines"][0]["local_date"] == "2026-04-01"


def test_a_region_summary_counts_granted_redeemed_counter_paid_busiest_and_declines(
        service, march):
    summary = service.region_summary("hoshizora-ku", "2026-03")

    assert summary["yen_granted"] == 6000  # two March tickets; April's is not usable yet
    assert summary["yen_redeemed"] == 1200 + 1800 + 900
    assert summary["yen_paid_at_counter"] == 2200
    assert summary["redemptions"] == 3
    assert summary["busiest_restaurants"] == [
        {"restaurant_id": march["green"], "name": "みどり食堂", "applied_yen": 3000,
         "redemptions": 2},
        {"restaurant_id": march["sea"], "name": "うみ亭", "applied_yen": 900,
         "redemptions": 1},
    ]
    assert summary["declines"]["unknown_card_or_token"] == 1
    assert sum(summary["declines"].values()) == 1


def test_only_the_five_busiest_restaurants_are_listed_busiest_first(service, world, clock):
    _, card, _ = world.family_with_card()
    restaurants = [world.restaurant(name=f"店{n}") for n in range(1, 7)]
    for n, restaurant_id in enumerate(restaurants, start=1):
        pay(service, clock, datetime(2026, 3, n, 12, 0, tzinfo=TOKYO), restaurant_id, card,
            n * 100)

    busiest = service.region_summary("hoshizora-ku", "2026-03")["busiest_restaurants"]

    assert [place["name"] for place in busiest] == ["店6", "店5", "店4", "店3", "店2"]


def test_before_march_the_balance_says_none_is_usable_and_shows_the_coming_ticket(
        service, world, clock):
    household_id, _, ticket_id = world.family_with_card()
    clock.set(datetime(2026, 2, 25, 12, 0, tzinfo=TOKYO))

    balance = service.get_balance(household_id)

    assert balance["has_usable_ticket"] is False and balance["ticket"] is None
    assert balance["next_ticket"]["ticket_id"] == ticket_id
    assert balance["next_ticket"]["first_day"] == "2026-03-01"


def test_in_march_the_balance_shows_what_is_left_and_the_last_local_day(
        service, world, clock):
    household_id, card, ticket_id = world.family_with_card()
    restaurant_id = world.restaurant()
    pay(service, clock, datetime(2026, 3, 5, 12, 0, tzinfo=TOKYO), restaurant_id, card, 1000)

    balance = service.get_balance(household_id)

    assert balance["has_usable_ticket"] is True
    assert balance["ticket"]["ticket_id"] == ticket_id
    assert (balance["ticket"]["amount_yen"], balance["ticket"]["balance_yen"]) == (3000, 2000)
    assert balance["ticket"]["last_day"] == "2026-03-31"
    assert balance["ticket"]["valid_until"] == "2026-04-01T00:00:00+09:00"
    assert balance["next_ticket"] is None


def test_history_lists_the_household_s_meals_newest_first_with_restaurant_and_local_day(
        service, march):
    history = service.history(march["first"])

    lines = history["redemptions"]
    assert [line["local_date"] for line in lines] == ["2026-04-01", "2026-03-31", "2026-03-03"]
    assert {line["restaurant_name"] for line in lines} == {"みどり食堂"}
    assert [line["balance_yen"] for line in lines] == [2500, 0, 1800]


def test_a_qr_code_is_issued_only_for_a_known_household(service, world):
    household_id = world.household()
    world.tickets([household_id])

    assert service.issue_qr_token(household_id)["token"]
    with pytest.raises(NotFound):
        service.issue_qr_token("00000000-0000-4000-8000-000000000000")


def test_reports_refuse_a_bad_month_and_an_unknown_restaurant(service, world):
    with pytest.raises(InvalidInput) as raised:
        service.restaurant_statement(world.restaurant(), "2026-13")
    assert "month" in raised.value.details["fields"]

    with pytest.raises(NotFound):
        service.restaurant_statement("00000000-0000-4000-8000-000000000000", "2026-03")

    with pytest.raises(InvalidInput) as raised:
        service.region_summary("Hoshizora Ku", "March")
    assert set(raised.value.details["fields"]) == {"region_id", "month"}
