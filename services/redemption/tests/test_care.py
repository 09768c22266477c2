"""Usage per organisation with the dormant flag, the counter's day, concerns and moves."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shokudo_common.errors import InvalidInput, NotFound

from redemption.models import OutboxEvent, Ticket

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"
ORGANISATION = "0a0a0a0a-0000-4000-8000-00000000000a"
NEW_ORGANISATION = "0b0b0b0b-0000-4000-8000-00000000000b"
FEBRUARY = dict(period="2026-01", valid_from="2026-02-01T00:00:00+09:00",
                valid_until="2026-03-01T00:00:00+09:00")


def pay(service, clock, moment, restaurant_id, card, bill_yen):
    clock.set(moment)
    answer = service.redeem({"restaurant_id": restaurant_id, "bill_yen": bill_yen,
                             "card_number": card})
    assert answer["outcome"] == "applied", answer
    return answer


def family(world, organisation_id=ORGANISATION, february=True):
    """A household of the organisation with a card, a March ticket and maybe February's."""
    household_id = world.household(organisation_id=organisation_id)
    card = world.card(household_id)
    world.tickets([household_id])
    if february:
        world.tickets([household_id], **FEBRUARY)
    return household_id, card


def outbox(session, event_type):
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == event_type))
    return [row.payload for row in rows]


@pytest.fixture
def restaurant(world):
    return world.restaurant()


# -- usage ----------------------------------------------------------------------------------

def test_usage_shows_granted_used_left_and_last_use_for_the_period_in_use_today(
        service, world, restaurant, clock):
    household_id, card = family(world)
    pay(service, clock, datetime(2026, 3, 5, 19, 0, tzinfo=TOKYO), restaurant, card, 1200)
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO))

    usage = service.organisation_usage(ORGANISATION, REGION)

    assert usage["period"] == "2026-02"  # the tickets usable in March
    [line] = usage["households"]
    assert line == {
        "household_id": household_id, "status": "active", "granted_yen": 3000,
        "used_yen": 1200, "left_yen": 1800, "expired_yen": 0, "last_day": "2026-03-31",
        "last_used_at": "2026-03-05T19:00:00+09:00", "reach_out": False,
        "reach_out_reason": None, "reach_out_message_ja": None, "reach_out_message_en": None,
    }


APRIL = datetime(2026, 4, 2, 10, 0, tzinfo=TOKYO)  # February's and March's windows have ended


def test_a_household_that_used_neither_of_two_granted_periods_is_flagged_to_reach_out(
        service, world, restaurant, clock):
    quiet, _ = family(world)
    eating, card = family(world)
    newcomer, _ = family(world, february=False)
    pay(service, clock, datetime(2026, 2, 14, 12, 0, tzinfo=TOKYO), restaurant, card, 500)
    clock.set(APRIL)

    usage = service.organisation_usage(ORGANISATION, REGION, period="2026-02")

    flags = {line["household_id"]: line["reach_out"] for line in usage["households"]}
    assert flags == {quiet: True, eating: False, newcomer: False}
    [quiet_line] = [line for line in usage["households"] if line["reach_out"]]
    assert quiet_line["reach_out_reason"] == "unused_two_periods"
    assert "2か月" in quiet_line["reach_out_message_ja"]

    assert usage["reach_out_periods"] == ["2026-01", "2026-02"]

    only = service.organisation_usage(ORGANISATION, REGION, period="2026-02",
                                      reach_out_only=True)
    assert [line["household_id"] for line in only["households"]] == [quiet]


def test_on_the_first_of_the_month_a_ticket_not_used_yet_is_no_reason_to_reach_out(
        service, world, clock):
    # March's ticket is in use since midnight and February's was not used: that is one
    # ended period unused, not two.
    household_id, _ = family(world)
    clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=TOKYO))

    usage = service.organisation_usage(ORGANISATION, REGION)

    assert usage["period"] == "2026-02"
    assert usage["reach_out_periods"] == ["2025-12", "2026-01"]
    [line] = usage["households"]
    assert (line["reach_out"], line["granted_yen"], line["left_yen"]) == (False, 3000, 3000)


def test_the_flag_of_the_period_in_use_looks_at_the_two_periods_that_ended_before_it(
        service, world, restaurant, clock):
    # Granted in January and February, used neither; March's ticket is in use and used.
    household_id, _ = family(world)
    world.tickets([household_id], period="2025-12", valid_from="2026-01-01T00:00:00+09:00",
                  valid_until="2026-02-01T00:00:00+09:00")
    eating_now, now_card = family(world)
    world.tickets([eating_now], period="2025-12", valid_from="2026-01-01T00:00:00+09:00",
                  valid_until="2026-02-01T00:00:00+09:00")
    pay(service, clock, datetime(2026, 3, 3, 12, 0, tzinfo=TOKYO), restaurant, now_card, 700)
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO))

    usage = service.organisation_usage(ORGANISATION, REGION)

    # Both used neither of the two ended periods (2025-12 and 2026-01): each is flagged,
    # while the line still shows the period in use.
    lines = {line["household_id"]: line for line in usage["households"]}
    assert {key: line["reach_out"] for key, line in lines.items()} == {
        household_id: True, eating_now: True}
    assert (lines[eating_now]["used_yen"], lines[eating_now]["left_yen"]) == (700, 2300)


def test_a_voided_meal_is_no_use_so_the_household_is_still_flagged(
        service, world, restaurant, clock):
    household_id, card = family(world)
    meal = pay(service, clock, datetime(2026, 3, 5, 12, 0, tzinfo=TOKYO), restaurant, card, 800)
    service.void_redemption(restaurant, meal["redemption_id"])
    clock.set(APRIL)

    [line] = service.organisation_usage(ORGANISATION, REGION, period="2026-02")["households"]

    assert (line["used_yen"], line["left_yen"], line["last_used_at"]) == (0, 3000, None)
    assert line["reach_out"] is True


def test_usage_lists_only_the_organisations_own_households(service, world):
    family(world)
    family(world, organisation_id=NEW_ORGANISATION)

    usage = service.organisation_usage(NEW_ORGANISATION, REGION, period="2026-02")

    assert len(usage["households"]) == 1


def test_usage_refuses_a_malformed_period(service):
    with pytest.raises(InvalidInput):
        service.organisation_usage(ORGANISATION, REGION, period="March")


# -- the counter's day ----------------------------------------------------------------------

def test_the_counters_day_lists_each_redemption_voided_or_not_without_the_household(
        service, world, restaurant, clock):
    _, card = family(world)
    pay(service, clock, datetime(2026, 3, 9, 23, 0, tzinfo=TOKYO), restaurant, card, 300)
    lunch = pay(service, clock, datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO), restaurant, card,
                1000)
    dinner = pay(service, clock, datetime(2026, 3, 10, 18, 0, tzinfo=TOKYO), restaurant, card,
                 2500)
    service.void_redemption(restaurant, lunch["redemption_id"])

    day = service.restaurant_day(restaurant)

    assert day["date"] == "2026-03-10"
    assert (day["redemptions"], day["voids"], day["applied_yen"]) == (1, 1, 1700)
    assert day["pay_at_counter_yen"] == 800  # the lunch had taken 1,000 when dinner came
    assert [(line["redemption_id"], line["voided"]) for line in day["lines"]] == [
        (lunch["redemption_id"], True), (dinner["redemption_id"], False)]
    assert day["lines"][1]["at"] == "2026-03-10T18:00:00+09:00"
    assert not any("household_id" in line for line in day["lines"])
    assert service.restaurant_day(restaurant, "2026-03-09")["redemptions"] == 1


def test_the_counters_day_of_an_unknown_restaurant_is_not_found(service):
    with pytest.raises(NotFound):
        service.restaurant_day("00000000-0000-4000-8000-000000000000")


# -- concerns -------------------------------------------------------------------------------

def test_a_concern_on_its_own_redemption_is_announced_with_household_and_organisation(
        service, world, restaurant, clock, session):
    household_id, card = family(world)
    meal = pay(service, clock, datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO), restaurant, card,
               700)

    answer = service.raise_concern(restaurant, meal["redemption_id"], "hunger",
                                   "とてもお腹を空かせていました")

    assert set(answer) == {"concern_id", "redemption_id", "category", "raised_at", "status"}
    [fact] = outbox(session, "concern_raised")
    assert fact["concern_id"] == answer["concern_id"]
    assert (fact["household_id"], fact["organisation_id"]) == (household_id, ORGANISATION)
    assert (fact["category"], fact["note"]) == ("hunger", "とてもお腹を空かせていました")
    # Where it was, for the organisation: the restaurant's name is no one's personal data.
    assert (fact["restaurant_id"], fact["restaurant_name"]) == (restaurant, "みどり食堂")


def test_a_concern_on_another_restaurants_redemption_is_not_found_and_announces_nothing(
        service, world, restaurant, clock, session):
    _, card = family(world)
    meal = pay(service, clock, datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO), restaurant, card,
               700)
    other = world.restaurant(name="うみ亭")

    with pytest.raises(NotFound):
        service.raise_concern(other, meal["redemption_id"], "health", "咳をしていました")
    assert outbox(session, "concern_raised") == []


def test_a_concern_needs_a_known_category_and_a_note_of_at_most_1000_characters(
        service, world, restaurant, clock):
    _, card = family(world)
    meal = pay(service, clock, datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO), restaurant, card,
               700)

    with pytest.raises(InvalidInput) as refused:
        service.raise_concern(restaurant, meal["redemption_id"], "gossip", "あ" * 1001)
    assert set(refused.value.details["fields"]) == {"category", "note"}


def test_a_concern_sent_again_with_its_key_is_announced_once(
        service, world, restaurant, clock, session):
    _, card = family(world)
    meal = pay(service, clock, datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO), restaurant, card,
               700)

    first = service.raise_concern(restaurant, meal["redemption_id"], "mood", "元気がない",
                                  idempotency_key="restaurant:x:k1")
    again = service.raise_concern(restaurant, meal["redemption_id"], "mood", "元気がない",
                                  idempotency_key="restaurant:x:k1")

    assert again == first
    assert len(outbox(session, "concern_raised")) == 1


# -- moves ----------------------------------------------------------------------------------

def moved_fact(household_id, organisation_id, version):
    return {"household_id": household_id, "region_id": REGION,
            "organisation_id": organisation_id, "from_organisation_id": ORGANISATION,
            "channel": "card", "language": "ja", "status": "active",
            "enrolled_at": "2026-02-01T10:00:00+09:00", "version": version}


def test_a_moved_household_keeps_its_ticket_and_history_under_its_new_organisation(
        service, world, restaurant, clock, session):
    household_id, card = family(world)
    pay(service, clock, datetime(2026, 3, 5, 12, 0, tzinfo=TOKYO), restaurant, card, 1000)

    service.apply_household_move(moved_fact(household_id, NEW_ORGANISATION, 2))

    assert service.organisation_usage(ORGANISATION, REGION)["households"] == []
    [line] = service.organisation_usage(NEW_ORGANISATION, REGION)["households"]
    assert (line["household_id"], line["left_yen"]) == (household_id, 2000)
    assert len(service.history(household_id)["redemptions"]) == 1

    later = pay(service, clock, datetime(2026, 3, 6, 12, 0, tzinfo=TOKYO), restaurant, card, 500)
    [_, receipt] = outbox(session, "ticket_redeemed")
    assert receipt["redemption_id"] == later["redemption_id"]
    assert receipt["organisation_id"] == NEW_ORGANISATION


def test_a_move_fact_older_than_the_projection_changes_nothing(service, world, session):
    household_id, _ = family(world)
    world.deliver("on_household_moved", moved_fact(household_id, NEW_ORGANISATION, 3))
    world.deliver("on_household_moved", moved_fact(household_id, ORGANISATION, 2))

    tickets = session.scalars(select(Ticket).where(Ticket.household_id == household_id))
    assert {ticket.organisation_id for ticket in tickets} == {NEW_ORGANISATION}


# -- the family's app -----------------------------------------------------------------------

def test_the_app_balance_says_yen_left_and_the_last_local_day_up_front(
        service, world, restaurant, clock):
    household_id, card = family(world)
    pay(service, clock, datetime(2026, 3, 31, 23, 50, tzinfo=TOKYO), restaurant, card, 1000)

    balance = service.get_balance(household_id)

    assert (balance["balance_yen"], balance["last_day"]) == (2000, "2026-03-31")
    [meal] = service.history(household_id)["redemptions"]
    assert (meal["restaurant_name"], meal["local_date"], meal["applied_yen"]) == (
        "みどり食堂", "2026-03-31", 1000)


def test_with_no_usable_ticket_the_app_balance_is_zero_with_no_last_day(service, world, clock):
    household_id, _ = family(world, february=False)
    clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO))

    balance = service.get_balance(household_id)

    assert (balance["balance_yen"], balance["last_day"]) == (0, None)
