"""Tickets whose window closes: what is left expires once, is announced, and is never spent."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from shokudo_common.testing import outbox_writer

from redemption import expiry
from redemption.models import Redemption, Ticket
from redemption.service import RedemptionService

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"

# A March ticket of Tokyo closes at midnight on 1 April, Tokyo time: 15:00 on 31 March in UTC.
CLOSE = datetime(2026, 3, 31, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def restaurant(world):
    return world.restaurant()


def ticket(session, ticket_id):
    session.expire_all()
    return session.get(Ticket, ticket_id)


class ClockThatMovesOn:
    """Reads ``moments`` one after the other, then stays on the last: a request that waited."""

    def __init__(self, *moments):
        self.moments = list(moments)

    def now(self):
        moment = self.moments.pop(0) if len(self.moments) > 1 else self.moments[0]
        return moment.astimezone(timezone.utc)


def test_a_ticket_expires_at_its_local_close_and_not_a_second_before(
        service, world, restaurant, session, clock, database):
    household_id, card, ticket_id = world.family_with_card()
    service.redeem({"restaurant_id": restaurant, "bill_yen": 1200, "card_number": card})

    clock.set(CLOSE - timedelta(seconds=1))  # 23:59:59 on 31 March in Tokyo
    service.expire_tickets()
    assert ticket(session, ticket_id).expired_at is None
    assert database.outbox_events("ticket_expired") == []

    clock.set(CLOSE)
    service.expire_tickets()

    expired = ticket(session, ticket_id)
    assert (expired.balance_yen, expired.expired_yen, expired.expired_at) == (0, 1800, CLOSE)
    [fact] = database.outbox_events("ticket_expired")
    assert {name: value for name, value in fact.items() if name not in ("event_id", "at")} == {
        "ticket_id": ticket_id, "household_id": household_id,
        "organisation_id": expired.organisation_id, "region_id": REGION,
        "period": "2026-02", "expired_yen": 1800,
    }
    assert fact["at"] == "2026-04-01T00:00:00+09:00"


def test_a_ticket_of_another_time_zone_expires_at_its_own_midnight(
        service, world, session, clock):
    household_id = world.household()
    [ticket_id] = world.tickets([household_id], time_zone="America/Los_Angeles",
                                valid_from="2026-03-01T00:00:00-08:00",
                                valid_until="2026-04-01T00:00:00-07:00")

    clock.set(CLOSE)  # midnight in Tokyo, still 31 March in Los Angeles
    service.expire_tickets()
    assert ticket(session, ticket_id).expired_at is None

    clock.set(datetime(2026, 4, 1, 7, 0, tzinfo=timezone.utc))
    service.expire_tickets()
    assert ticket(session, ticket_id).expired_yen == 3000


def test_an_expiry_run_again_expires_nothing_twice(service, world, session, clock, database):
    _, _, ticket_id = world.family_with_card()
    clock.set(CLOSE)
    service.expire_tickets()
    clock.set(CLOSE + timedelta(hours=1))

    service.expire_tickets()

    assert ticket(session, ticket_id).expired_at == CLOSE
    assert len(database.outbox_events("ticket_expired")) == 1


def test_two_timers_at_once_expire_each_ticket_once(
        at_once, world, session, clock, database, monkeypatch):
    monkeypatch.setattr(expiry, "BATCH_SIZE", 3)  # many small batches, so the timers meet
    households = [world.household() for _ in range(20)]
    ticket_ids = world.tickets(households)
    clock.set(CLOSE)

    outcomes = at_once(lambda service: service.expire_tickets(),
                       lambda service: service.expire_tickets())

    assert outcomes == [None, None]
    facts = database.outbox_events("ticket_expired")
    assert sorted(fact["ticket_id"] for fact in facts) == sorted(ticket_ids)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Ticket)
                          .where(Ticket.expired_at.is_(None))) == 0


def test_a_bill_whose_clock_reads_after_the_close_is_declined_and_changes_nothing(
        session, world, restaurant, signer, database):
    _, card, ticket_id = world.family_with_card()
    # Presented a second before the close; the ticket's lock is taken after it.
    clock = ClockThatMovesOn(CLOSE - timedelta(seconds=1), CLOSE)
    counter = worker_factory(RedemptionService, db=session, outbox=outbox_writer(),
                             clock=clock, qr_tokens=signer)

    answer = counter.redeem({"restaurant_id": restaurant, "bill_yen": 1000,
                             "card_number": card})

    assert (answer["outcome"], answer["reason"]) == ("declined", "outside_validity_window")
    assert ticket(session, ticket_id).balance_yen == 3000
    assert session.scalar(select(func.count(Redemption.id))) == 0
    assert database.outbox_events("ticket_redeemed") == []


def test_an_expired_ticket_is_never_spent_again_even_by_a_clock_that_lags(
        service, world, restaurant, session, clock):
    _, card, ticket_id = world.family_with_card()
    clock.set(CLOSE)
    service.expire_tickets()

    clock.set(CLOSE - timedelta(minutes=5))  # a replica whose clock is behind
    answer = service.redeem({"restaurant_id": restaurant, "bill_yen": 1000,
                             "card_number": card})

    assert answer["reason"] == "outside_validity_window"
    assert ticket(session, ticket_id).expired_yen == 3000


def test_at_the_close_the_next_months_ticket_pays(service, world, restaurant, session, clock):
    household_id, card, march = world.family_with_card()
    [april] = world.tickets([household_id], period="2026-03",
                            valid_from="2026-04-01T00:00:00+09:00",
                            valid_until="2026-05-01T00:00:00+09:00")
    clock.set(CLOSE)

    answer = service.redeem({"restaurant_id": restaurant, "bill_yen": 1000,
                             "card_number": card})

    assert answer["balance_yen"] == 2000
    assert (ticket(session, march).balance_yen, ticket(session, april).balance_yen) == \
        (3000, 2000)
