"""Other services' facts kept here: each applied once, whatever the broker delivers twice."""

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shokudo_common import handlers

from redemption.models import Card, Household, ParkedMessage, RegionZone, Restaurant, Ticket

REGION = "hoshizora-ku"


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_each_grant_of_a_batch_becomes_a_full_ticket_with_its_window(world, session):
    first, second = world.household(), world.household()

    ticket_ids = world.tickets([first, second], amount_yen=3000)

    tickets = [session.get(Ticket, ticket_id) for ticket_id in ticket_ids]
    assert [ticket.household_id for ticket in tickets] == [first, second]
    assert all(ticket.balance_yen == ticket.amount_yen == 3000 for ticket in tickets)
    assert tickets[0].period == "2026-02"
    assert tickets[0].valid_from.isoformat() == "2026-02-28T15:00:00+00:00"
    assert session.get(RegionZone, REGION).time_zone == "Asia/Tokyo"


def test_a_batch_delivered_twice_is_applied_once_and_spent_yen_stay_spent(
        service, world, session):
    household_id = world.household()
    restaurant_id = world.restaurant()
    card = world.card(household_id)
    batch = {
        "run_id": "4f1c2d3e-0000-4000-8000-000000000001", "region_id": REGION,
        "period": "2026-02", "amount_yen": 3000, "time_zone": "Asia/Tokyo",
        "valid_from": "2026-03-01T00:00:00+09:00", "valid_until": "2026-04-01T00:00:00+09:00",
        "grants": [{"grant_id": "4f1c2d3e-0000-4000-8000-000000000002",
                    "household_id": household_id,
                    "organisation_id": "4f1c2d3e-0000-4000-8000-000000000003"}],
    }
    world.deliver("on_tickets_issued", batch, event_id="9d0e0000-0000-4000-8000-00000000000a")
    service.redeem({"restaurant_id": restaurant_id, "bill_yen": 1000, "card_number": card})

    world.deliver("on_tickets_issued", batch, event_id="9d0e0000-0000-4000-8000-00000000000a")
    # Republished under a new event id (issuance retried the batch): still one ticket.
    world.deliver("on_tickets_issued", batch, event_id="9d0e0000-0000-4000-8000-00000000000b")

    assert count(session, Ticket) == 1
    assert count(session, ParkedMessage) == 0
    session.expire_all()
    assert session.get(Ticket, batch["grants"][0]["grant_id"]).balance_yen == 2000


def test_a_household_gets_one_ticket_per_period_even_under_another_grant_id(world, session):
    household_id = world.household()

    world.tickets([household_id], period="2026-02")
    world.tickets([household_id], period="2026-02")

    assert count(session, Ticket) == 1
    assert count(session, ParkedMessage) == 0


def test_the_database_refuses_a_balance_above_the_grant_or_below_zero(world, session):
    [ticket_id] = world.tickets([world.household()])
    ticket = session.get(Ticket, ticket_id)

    for balance in (3001, -1):
        ticket.balance_yen = balance
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


def stale(event_type):
    labels = {"event_type": event_type}
    return REGISTRY.get_sample_value("shokudo_projection_stale_facts_ignored_total", labels) or 0


def restaurant_row(session, restaurant_id):
    session.expire_all()
    restaurant = session.get(Restaurant, restaurant_id)
    return restaurant.status, restaurant.version


def household_row(session, household_id):
    session.expire_all()
    household = session.get(Household, household_id)
    return household.status, household.version


def test_a_restaurant_follows_directory_and_a_repeated_suspension_changes_nothing(
        world, session):
    restaurant_id = world.restaurant()
    suspension = world.restaurant_fact(restaurant_id, REGION, "suspended", 2,
                                       name="みどり食堂 本店")

    world.deliver("on_restaurant_suspended", suspension, event_id="e1")
    world.deliver("on_restaurant_suspended", suspension, event_id="e1")
    world.deliver("on_restaurant_updated", dict(suspension, name="みどり食堂 駅前店", version=3))

    restaurant = session.get(Restaurant, restaurant_id)
    assert (restaurant.status, restaurant.name) == ("suspended", "みどり食堂 駅前店")
    assert count(session, Restaurant) == 1


def test_a_suspension_that_overtakes_the_joining_leaves_the_restaurant_suspended(
        world, session):
    restaurant_id = "5a6b7c8d-0000-4000-8000-000000000001"
    ignored_before = stale("restaurant_joined")

    world.deliver("on_restaurant_suspended",
                  world.restaurant_fact(restaurant_id, REGION, "suspended", 2))
    world.deliver("on_restaurant_joined",
                  world.restaurant_fact(restaurant_id, REGION, "active", 1))

    assert restaurant_row(session, restaurant_id) == ("suspended", 2)
    assert stale("restaurant_joined") == ignored_before + 1
    assert count(session, ParkedMessage) == 0


def test_a_reinstatement_that_overtakes_the_suspension_keeps_the_restaurant_active(
        world, session):
    restaurant_id = world.restaurant()
    # Reinstatement (v3, announced as restaurant_joined) before the suspension (v2).
    world.deliver("on_restaurant_joined",
                  world.restaurant_fact(restaurant_id, REGION, "active", 3))

    world.deliver("on_restaurant_suspended",
                  world.restaurant_fact(restaurant_id, REGION, "suspended", 2))

    assert restaurant_row(session, restaurant_id) == ("active", 3)


def test_a_late_update_does_not_bring_back_an_old_name_or_status(world, session):
    restaurant_id = world.restaurant()
    world.deliver("on_restaurant_suspended", world.restaurant_fact(
        restaurant_id, REGION, "suspended", 3, name="みどり食堂 駅前店"))

    world.deliver("on_restaurant_updated", world.restaurant_fact(
        restaurant_id, REGION, "active", 2, name="みどり食堂 本店"))

    restaurant = session.get(Restaurant, restaurant_id)
    assert (restaurant.status, restaurant.name, restaurant.version) == (
        "suspended", "みどり食堂 駅前店", 3)


def test_a_household_s_status_follows_enrollment(world, session):
    household_id = world.household()

    world.deliver("on_household_suspended",
                  world.household_fact(household_id, REGION, "o", "suspended", version=2))
    assert household_row(session, household_id) == ("suspended", 2)

    world.deliver("on_household_withdrawn",
                  world.household_fact(household_id, REGION, "o", "withdrawn", version=3))
    assert household_row(session, household_id) == ("withdrawn", 3)


def test_a_suspension_that_overtakes_the_enrolment_leaves_the_household_suspended(
        world, session):
    household_id = "5a6b7c8d-0000-4000-8000-000000000002"
    ignored_before = stale("household_enrolled")

    world.deliver("on_household_suspended",
                  world.household_fact(household_id, REGION, "o", "suspended", version=2))
    world.deliver("on_household_enrolled",
                  world.household_fact(household_id, REGION, "o", "active", version=1))

    assert household_row(session, household_id) == ("suspended", 2)
    assert stale("household_enrolled") == ignored_before + 1
    assert count(session, ParkedMessage) == 0


def test_a_reinstatement_that_overtakes_the_suspension_keeps_the_household_active(
        world, session):
    household_id = world.household()
    world.deliver("on_household_reinstated",
                  world.household_fact(household_id, REGION, "o", "active", version=3))

    world.deliver("on_household_suspended",
                  world.household_fact(household_id, REGION, "o", "suspended", version=2))

    assert household_row(session, household_id) == ("active", 3)


def test_the_same_version_again_changes_nothing(world, session):
    household_id = world.household()
    world.deliver("on_household_suspended",
                  world.household_fact(household_id, REGION, "o", "suspended", version=2))
    ignored_before = stale("household_reinstated")

    # A fact of the same version under another type: no newer than what is kept.
    world.deliver("on_household_reinstated",
                  world.household_fact(household_id, REGION, "o", "active", version=2))

    assert household_row(session, household_id) == ("suspended", 2)
    assert stale("household_reinstated") == ignored_before + 1


def test_the_status_in_the_fact_is_preferred_to_its_type(world, session):
    household_id = world.household()

    world.deliver("on_household_reinstated",
                  world.household_fact(household_id, REGION, "o", "suspended", version=2))

    assert household_row(session, household_id) == ("suspended", 2)


def test_facts_without_a_status_or_version_still_apply_by_their_type(world, session):
    household_id = "5a6b7c8d-0000-4000-8000-000000000003"
    fact = world.household_fact(household_id, REGION, "o", "active")
    del fact["status"]

    world.deliver("on_household_enrolled", fact)
    world.deliver("on_household_suspended", fact)

    assert household_row(session, household_id) == ("suspended", 0)


def test_an_unnumbered_fact_is_older_than_any_numbered_one(world, session):
    household_id = world.household()
    restaurant_id = world.restaurant()

    world.deliver("on_household_suspended",
                  world.household_fact(household_id, REGION, "o", "suspended"))
    world.deliver("on_restaurant_suspended",
                  world.restaurant_fact(restaurant_id, REGION, "suspended", None))

    assert household_row(session, household_id) == ("active", 1)
    assert restaurant_row(session, restaurant_id) == ("active", 1)


@pytest.mark.parametrize("version", [0, -3, "2", 1.5, True])
def test_a_fact_with_a_broken_version_is_parked_not_applied(
        world, session, monkeypatch, version):
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0)  # retry without waiting
    household_id = world.household()

    world.deliver("on_household_suspended", world.household_fact(
        household_id, REGION, "o", "suspended", version=version))

    assert household_row(session, household_id) == ("active", 1)
    [parked] = session.scalars(select(ParkedMessage)).all()
    assert parked.consumer == "redemption.on_household_suspended"


def test_a_blocked_card_stays_blocked_if_its_issue_arrives_late(world, session):
    household_id = world.household()
    number = world.unknown_card()

    world.deliver("on_card_blocked", {"household_id": household_id, "card_number": number})
    world.deliver("on_card_issued", {"household_id": household_id, "region_id": REGION,
                                     "card_number": number})

    assert session.get(Card, number).status == "blocked"


def test_a_broken_batch_is_parked_for_an_operator_and_writes_no_ticket(
        world, session, monkeypatch):
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0)  # retry without waiting

    world.deliver("on_tickets_issued", {
        "run_id": "r", "region_id": REGION, "period": "2026-02", "amount_yen": 3000,
        "time_zone": "Mars/Olympus_Mons", "valid_from": "2026-03-01T00:00:00+09:00",
        "valid_until": "2026-04-01T00:00:00+09:00",
        "grants": [{"grant_id": "g", "household_id": "h", "organisation_id": "o"}],
    })

    assert count(session, Ticket) == 0
    [parked] = session.scalars(select(ParkedMessage)).all()
    assert parked.consumer == "redemption.on_tickets_issued"


# -- programs --------------------------------------------------------------------------------


def test_a_program_sets_the_regions_time_zone_and_void_window(world, session):
    world.tickets([world.household()])  # the first tickets' zone stands in until then

    world.program(time_zone="America/Los_Angeles", void_window_hours=12)
    world.tickets([world.household()], period="2026-03")  # opened before the change

    zone = session.get(RegionZone, REGION)
    assert (zone.time_zone, zone.void_window_hours) == ("America/Los_Angeles", 12)


def test_a_program_says_where_households_may_use_tickets_and_older_facts_mean_the_region(
        world, session):
    world.program()  # a fact published before the setting existed
    assert session.get(RegionZone, REGION).restaurant_scope == "region"

    world.program(restaurant_scope="own_organisation")
    session.expire_all()
    assert session.get(RegionZone, REGION).restaurant_scope == "own_organisation"


def test_a_program_changed_again_keeps_the_latest_void_window(world, session):
    world.program(void_window_hours=12)
    world.program(void_window_hours=0)

    session.expire_all()
    assert session.get(RegionZone, REGION).void_window_hours == 0


@pytest.mark.parametrize("broken", [{"void_window_hours": 73}, {"time_zone": "Mars/Olympus"}])
def test_a_broken_program_is_parked_and_changes_nothing(world, session, monkeypatch, broken):
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0)  # retry without waiting

    world.program(**broken)

    assert session.get(RegionZone, REGION) is None
    [parked] = session.scalars(select(ParkedMessage)).all()
    assert parked.consumer == "redemption.on_program_updated"
