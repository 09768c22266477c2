"""A restaurant voiding its own redemption: the balance back, both rows kept, and the refusals."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from shokudo_common.errors import Conflict, NotFound
from shokudo_common.periods import Period

from redemption import closing
from redemption.models import Redemption, Ticket, Void
from redemption.schemas import local_instant

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"
OTHER = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def restaurant(world):
    return world.restaurant()


@pytest.fixture
def paid(service, world, restaurant, clock):
    """A ¥1,200 meal at 12:00 on 10 March (Tokyo), and the ticket it was paid from."""
    household_id, card, ticket_id = world.family_with_card()
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO))
    answer = service.redeem({"restaurant_id": restaurant, "bill_yen": 1200,
                             "card_number": card})
    assert answer["outcome"] == "applied"
    return {"redemption_id": answer["redemption_id"], "ticket_id": ticket_id, "card": card,
            "household_id": household_id}


def balance(session, ticket_id):
    session.expire_all()
    return session.get(Ticket, ticket_id).balance_yen


def voids(session):
    return session.scalar(select(func.count(Void.id)))


# -- what a void does ------------------------------------------------------------------------


def test_a_void_gives_the_balance_back_and_the_statement_drops_the_redemption(
        service, restaurant, paid, session, clock):
    clock.set(datetime(2026, 3, 10, 12, 5, tzinfo=TOKYO))

    answer = service.void_redemption(restaurant, paid["redemption_id"])

    assert answer == {
        "outcome": "voided", "redemption_id": paid["redemption_id"],
        "void_id": answer["void_id"], "voided_yen": 1200, "balance_yen": 3000,
        "at": "2026-03-10T12:05:00+09:00",
    }
    assert balance(session, paid["ticket_id"]) == 3000
    statement = service.restaurant_statement(restaurant, "2026-03")
    assert (statement["redemptions"], statement["voids"], statement["total_yen"]) == (0, 1, 0)
    assert statement["lines"] == []


def test_the_ledger_keeps_the_redemption_and_the_void_that_points_at_it(
        service, restaurant, paid, session, database):
    answer = service.void_redemption(restaurant, paid["redemption_id"])

    redemption = session.get(Redemption, paid["redemption_id"])
    assert (redemption.applied_yen, redemption.balance_after_yen) == (1200, 1800)
    [void] = session.scalars(select(Void)).all()
    assert (void.id, void.redemption_id, void.ticket_id) == \
        (answer["void_id"], paid["redemption_id"], paid["ticket_id"])
    assert (void.voided_yen, void.balance_after_yen, void.local_date.isoformat()) == \
        (1200, 3000, "2026-03-10")

    [fact] = database.outbox_events("ticket_voided")
    assert {name: fact[name] for name in (
        "redemption_id", "household_id", "region_id", "restaurant_id", "voided_yen",
        "balance_yen")} == {
        "redemption_id": paid["redemption_id"], "household_id": paid["household_id"],
        "region_id": REGION, "restaurant_id": restaurant, "voided_yen": 1200,
        "balance_yen": 3000}
    assert fact["organisation_id"] and fact["event_id"]
    assert paid["card"] not in str(fact)


def test_only_the_voided_redemption_leaves_the_statement(
        service, world, restaurant, paid, clock):
    service.redeem({"restaurant_id": restaurant, "bill_yen": 500,
                    "card_number": paid["card"]})

    service.void_redemption(restaurant, paid["redemption_id"])

    statement = service.restaurant_statement(restaurant, "2026-03")
    assert (statement["redemptions"], statement["voids"], statement["total_yen"]) == (1, 1, 500)
    assert [line["applied_yen"] for line in statement["lines"]] == [500]
    summary = service.region_summary(REGION, "2026-03")
    assert (summary["redemptions"], summary["yen_redeemed"]) == (1, 500)


def test_the_household_history_shows_the_redemption_as_voided(service, restaurant, paid):
    service.void_redemption(restaurant, paid["redemption_id"])

    [line] = service.history(paid["household_id"])["redemptions"]
    assert (line["redemption_id"], line["voided"]) == (paid["redemption_id"], True)
    assert line["voided_at"] == "2026-03-10T12:00:00+09:00"


def test_the_yen_given_back_can_be_spent_again(service, restaurant, paid, session):
    service.void_redemption(restaurant, paid["redemption_id"])

    again = service.redeem({"restaurant_id": restaurant, "bill_yen": 3000,
                            "card_number": paid["card"]})

    assert (again["applied_yen"], again["balance_yen"]) == (3000, 0)


# -- the void window -------------------------------------------------------------------------


@pytest.mark.parametrize("moment, allowed", [
    (datetime(2026, 3, 10, 23, 59, 59, tzinfo=TOKYO), True),
    # Midnight in Tokyo, while it is still 15:00 on the 10th in UTC.
    (datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc), False),
])
def test_by_default_a_void_is_possible_until_midnight_of_the_local_day(
        service, restaurant, paid, session, clock, moment, allowed):
    clock.set(moment)

    if allowed:
        service.void_redemption(restaurant, paid["redemption_id"])
        assert balance(session, paid["ticket_id"]) == 3000
        return

    with pytest.raises(Conflict) as raised:
        service.void_redemption(restaurant, paid["redemption_id"])
    assert raised.value.code == "void_window_closed"
    assert balance(session, paid["ticket_id"]) == 1800
    assert voids(session) == 0


@pytest.mark.parametrize("minutes_after, allowed", [(119, True), (120, False)])
def test_a_program_may_give_a_window_in_hours(
        service, world, restaurant, paid, session, clock, minutes_after, allowed):
    world.program(void_window_hours=2)
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO) + timedelta(minutes=minutes_after))

    if allowed:
        assert service.void_redemption(restaurant, paid["redemption_id"])["voided_yen"] == 1200
    else:
        with pytest.raises(Conflict, match="void_window_closed"):
            service.void_redemption(restaurant, paid["redemption_id"])


def test_a_window_of_hours_runs_past_midnight(service, world, restaurant, paid, clock):
    world.program(void_window_hours=24)
    clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=TOKYO))

    assert service.void_redemption(restaurant, paid["redemption_id"])["balance_yen"] == 3000


# -- refusals --------------------------------------------------------------------------------


def test_a_void_after_the_statement_is_closed_is_refused(
        service, world, restaurant, session, clock):
    world.program(void_window_hours=72)
    _, card, ticket_id = world.family_with_card()
    clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=TOKYO))
    late = service.redeem({"restaurant_id": restaurant, "bill_yen": 1000, "card_number": card})
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))  # within the 72 hours
    service.close_statement(restaurant, "2026-03")

    with pytest.raises(Conflict) as raised:
        service.void_redemption(restaurant, late["redemption_id"])

    assert raised.value.code == "statement_closed"
    assert balance(session, ticket_id) == 2000
    assert service.restaurant_statement(restaurant, "2026-03")["total_yen"] == 1000


def test_a_redemption_is_voided_once_and_the_second_void_is_refused(
        service, restaurant, paid, session, database):
    service.void_redemption(restaurant, paid["redemption_id"])

    with pytest.raises(Conflict) as raised:
        service.void_redemption(restaurant, paid["redemption_id"])

    assert raised.value.code == "already_voided"
    assert balance(session, paid["ticket_id"]) == 3000
    assert voids(session) == 1
    assert len(database.outbox_events("ticket_voided")) == 1


@pytest.mark.parametrize("who", ["another restaurant", "nobody"])
def test_another_restaurants_redemption_is_not_found_as_if_unknown(
        service, world, paid, session, who):
    other = world.restaurant(name="うみ亭") if who == "another restaurant" else OTHER

    with pytest.raises(NotFound) as raised:
        service.void_redemption(other, paid["redemption_id"])

    assert raised.value.code == "redemption_not_found"
    assert balance(session, paid["ticket_id"]) == 1800
    assert voids(session) == 0


def test_an_unknown_redemption_is_not_found(service, restaurant):
    with pytest.raises(NotFound, match="redemption_not_found"):
        service.void_redemption(restaurant, OTHER)


# -- retries and races -----------------------------------------------------------------------


def test_a_void_retried_with_its_key_gets_the_same_answer_and_gives_back_once(
        service, restaurant, paid, session, clock):
    key = f"restaurant:{restaurant}:void-0001"
    first = service.void_redemption(restaurant, paid["redemption_id"], idempotency_key=key)
    clock.set(clock.moment + timedelta(minutes=5))

    again = service.void_redemption(restaurant, paid["redemption_id"], idempotency_key=key)

    assert again == first
    assert balance(session, paid["ticket_id"]) == 3000
    assert voids(session) == 1


def test_a_void_key_sent_with_another_redemption_is_refused(
        service, restaurant, paid, session):
    key = f"restaurant:{restaurant}:void-0002"
    other = service.redeem({"restaurant_id": restaurant, "bill_yen": 300,
                            "card_number": paid["card"]})
    service.void_redemption(restaurant, paid["redemption_id"], idempotency_key=key)

    with pytest.raises(Conflict) as raised:
        service.void_redemption(restaurant, other["redemption_id"], idempotency_key=key)

    assert raised.value.code == "idempotency_key_reused"
    assert voids(session) == 1


def test_a_refused_void_keeps_nothing_under_its_key(service, restaurant, paid, clock, session):
    key = f"restaurant:{restaurant}:void-0003"
    clock.set(datetime(2026, 3, 11, 0, 0, tzinfo=TOKYO))
    with pytest.raises(Conflict):
        service.void_redemption(restaurant, paid["redemption_id"], idempotency_key=key)

    remembered = session.execute(
        text("SELECT count(*) FROM idempotent_requests WHERE key = :key"), {"key": key})
    assert remembered.scalar_one() == 0


def test_two_voids_of_one_redemption_at_once_give_back_once(
        at_once, restaurant, paid, session, database):
    def void(service):
        return service.void_redemption(restaurant, paid["redemption_id"])

    outcomes = at_once(void, void)

    voided = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(voided) == 1 and voided[0]["balance_yen"] == 3000
    assert [error.code for error in refused] == ["already_voided"]
    assert balance(session, paid["ticket_id"]) == 3000
    assert len(database.outbox_events("ticket_voided")) == 1


def test_a_void_and_a_bill_at_once_on_one_ticket_add_up(at_once, restaurant, paid, session):
    def void(service):
        return service.void_redemption(restaurant, paid["redemption_id"])

    def pay(service):
        return service.redeem({"restaurant_id": restaurant, "bill_yen": 2500,
                               "card_number": paid["card"]})

    voided, bill = at_once(void, pay)

    assert voided["voided_yen"] == 1200
    assert bill["outcome"] == "applied"
    # Whichever went first, the ticket holds 3,000 − 1,200 + 1,200 − what the bill took.
    assert balance(session, paid["ticket_id"]) == 3000 - bill["applied_yen"]


def test_a_void_under_way_keeps_its_month_from_being_closed(
        database, restaurant, paid, service, clock):
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))
    void_session = database.make_session()
    try:
        # What a void holds between its checks and its commit.
        closing.share_month(void_session, restaurant, Period.parse("2026-03"))
        service.db.execute(text("SET lock_timeout = '100ms'"))

        with pytest.raises(OperationalError, match="lock timeout"):
            service.close_statement(restaurant, "2026-03")
    finally:
        void_session.close()
        service.db.rollback()

    assert service.close_statement(restaurant, "2026-03")["closed_by"] == "operator"


def test_yen_given_back_to_an_expired_ticket_expire_with_it(
        service, world, restaurant, session, clock):
    world.program(void_window_hours=72)
    _, card, ticket_id = world.family_with_card()
    clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=TOKYO))
    late = service.redeem({"restaurant_id": restaurant, "bill_yen": 1000, "card_number": card})
    clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO))
    service.expire_tickets()
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))

    answer = service.void_redemption(restaurant, late["redemption_id"])

    session.expire_all()
    ticket = session.get(Ticket, ticket_id)
    assert answer["balance_yen"] == 0
    assert (ticket.balance_yen, ticket.expired_yen) == (0, 3000)
    assert local_instant(ticket.expired_at, "Asia/Tokyo") == "2026-04-01T00:00:00+09:00"
