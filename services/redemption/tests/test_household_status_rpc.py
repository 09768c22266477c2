"""Enrollment's household changes and card replacements, applied at once over RPC.

Enrollment calls these after its commit and before it answers the organisation; the events
with the same facts follow (or overtake the call). Both go through the same projections, so
whichever comes second changes nothing, and the counter obeys the newest version.
"""

import threading
import time
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

REGION = "hoshizora-ku"  # the world's region (conftest)
ORGANISATION = "4f1c2d3e-0000-4000-8000-000000000003"


def card_number(prefix):
    """A 16-digit number with a good Luhn check digit, from a 15-digit prefix."""
    total = 0
    for position, digit in enumerate(reversed([int(char) for char in prefix])):
        value = digit * 2 if position % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    return prefix + str((10 - total % 10) % 10)


def bill(restaurant_id, bill_yen, card):
    return {"restaurant_id": restaurant_id, "bill_yen": bill_yen, "card_number": card}


def status_fact(world, household_id, status, version):
    """A household_* fact as enrollment stages it (the outbox adds the event id)."""
    return world.household_fact(household_id, REGION, ORGANISATION, status, version=version)


def replacement_facts(household_id, old_card, new_card, replacement_id=None):
    """The card_blocked and card_issued facts of one replacement, as enrollment stages them."""
    replacement_id = replacement_id or str(uuid.uuid4())
    blocked = {"household_id": household_id, "card_number": old_card,
               "replacement_id": replacement_id}
    issued = {"household_id": household_id, "region_id": REGION, "card_number": new_card,
              "replacement_id": replacement_id}
    return blocked, issued


def stale(event_type):
    labels = {"event_type": event_type}
    return REGISTRY.get_sample_value("shokudo_projection_stale_facts_ignored_total", labels) or 0


def outcome(answer):
    return answer["reason"] if answer["outcome"] == "declined" else answer["outcome"]


@pytest.fixture
def restaurant(world):
    return world.restaurant()


# -- household status --------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["suspended", "withdrawn"])
def test_a_household_stopped_by_rpc_is_declined_at_once(service, world, restaurant, status):
    household_id, card, _ = world.family_with_card()

    held = service.apply_household_status(status_fact(world, household_id, status, 2))

    assert held == {"household_id": household_id, "status": status, "version": 2}
    assert outcome(service.redeem(bill(restaurant, 500, card))) == "household_not_active"


def test_a_reinstatement_by_rpc_restores_the_same_ticket_within_its_window(
        service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    service.redeem(bill(restaurant, 1000, card))
    service.apply_household_status(status_fact(world, household_id, "suspended", 2))

    service.apply_household_status(status_fact(world, household_id, "active", 3))

    answer = service.redeem(bill(restaurant, 500, card))
    assert outcome(answer) == "applied"
    assert answer["balance_yen"] == 1500


def test_the_event_that_follows_the_rpc_changes_nothing(service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    suspended = status_fact(world, household_id, "suspended", 2)
    service.apply_household_status(suspended)
    before = stale("household_suspended")

    world.deliver("on_household_suspended", suspended)
    world.deliver("on_household_enrolled", status_fact(world, household_id, "active", 1))

    assert stale("household_suspended") == before + 1
    assert outcome(service.redeem(bill(restaurant, 500, card))) == "household_not_active"


def test_an_rpc_overtaken_by_a_newer_event_changes_nothing(service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    # Suspended (2) then reinstated (3) at once: the reinstatement's event got here first.
    world.deliver("on_household_reinstated", status_fact(world, household_id, "active", 3))

    held = service.apply_household_status(status_fact(world, household_id, "suspended", 2))

    assert held == {"household_id": household_id, "status": "active", "version": 3}
    assert outcome(service.redeem(bill(restaurant, 500, card))) == "applied"


def test_the_same_fact_applied_twice_by_rpc_is_applied_once(service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    suspended = status_fact(world, household_id, "suspended", 2)

    first = service.apply_household_status(suspended)
    second = service.apply_household_status(suspended)

    assert first == second == {"household_id": household_id, "status": "suspended",
                               "version": 2}


def test_a_household_redemption_has_not_heard_of_is_entered_by_the_rpc(service, world):
    household_id = str(uuid.uuid4())

    held = service.apply_household_status(status_fact(world, household_id, "suspended", 2))

    assert held["status"] == "suspended"


# -- lost cards --------------------------------------------------------------------------------

def test_after_a_replacement_the_old_number_is_refused_and_the_new_one_has_its_balance(
        service, world, restaurant):
    household_id, old_card, _ = world.family_with_card()
    assert service.redeem(bill(restaurant, 1000, old_card))["balance_yen"] == 2000
    new_card = card_number("555555555555555")

    service.apply_card_replacement(*replacement_facts(household_id, old_card, new_card))

    assert outcome(service.redeem(bill(restaurant, 100, old_card))) == "unknown_card_or_token"
    answer = service.redeem(bill(restaurant, 2500, new_card))
    # Exactly what the old card had left: ¥2,000, and the family pays the other ¥500.
    assert (answer["outcome"], answer["applied_yen"], answer["pay_at_counter_yen"],
            answer["balance_yen"]) == ("applied", 2000, 500, 0)


def test_a_card_blocked_alone_is_refused_at_once_and_its_event_changes_nothing_after(
        service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    blocked = {"household_id": household_id, "card_number": card, "replacement_id": None}

    service.apply_card_blocked(blocked)
    world.deliver("on_card_blocked", blocked)

    assert outcome(service.redeem(bill(restaurant, 100, card))) == "unknown_card_or_token"


@pytest.mark.parametrize("events_first", [False, True])
def test_the_replacement_events_and_the_rpc_agree_in_either_order(
        service, world, restaurant, events_first):
    household_id, old_card, _ = world.family_with_card()
    new_card = card_number("555555555555555")
    blocked, issued = replacement_facts(household_id, old_card, new_card)

    def events():
        world.deliver("on_card_blocked", blocked)
        world.deliver("on_card_issued", issued)

    if events_first:
        events()
    service.apply_card_replacement(blocked, issued)
    service.apply_card_replacement(blocked, issued)  # enrollment pushes again on a retry
    if not events_first:
        events()

    assert outcome(service.redeem(bill(restaurant, 100, old_card))) == "unknown_card_or_token"
    assert service.redeem(bill(restaurant, 100, new_card))["balance_yen"] == 2900


def test_a_replaced_card_replaced_again_stays_blocked_whatever_arrives_late(
        service, world, restaurant):
    household_id, first_card, _ = world.family_with_card()
    second_card, third_card = card_number("555555555555555"), card_number("666666666666666")
    first_replacement = replacement_facts(household_id, first_card, second_card)
    second_replacement = replacement_facts(household_id, second_card, third_card)

    service.apply_card_replacement(*second_replacement)
    service.apply_card_replacement(*first_replacement)  # late: must not revive second_card

    assert outcome(service.redeem(bill(restaurant, 100, second_card))) == (
        "unknown_card_or_token")
    assert outcome(service.redeem(bill(restaurant, 100, third_card))) == "applied"


# -- a bill already at the counter ------------------------------------------------------------

def lock_waits(database):
    """How many connections to this database are waiting for a row lock."""
    with database.engine.connect() as connection:
        return connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"))


def wait_for(probe, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.02)
    return False


def in_thread(work):
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("value", work()))
    thread.start()
    return thread, outcome


def test_a_suspension_waits_for_the_bill_already_at_the_counter(
        database, make_service, world, restaurant):
    household_id, card, ticket_id = world.family_with_card()
    till, office, holder = (database.make_session() for _ in range(3))
    # Hold the ticket, so the bill stops after it has read the household as active.
    holder.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id})

    bill_thread, paid = in_thread(
        lambda: make_service(till).redeem(bill(restaurant, 500, card)))
    assert wait_for(lambda: lock_waits(database) == 1)
    suspension_thread, _ = in_thread(lambda: make_service(office).apply_household_status(
        status_fact(world, household_id, "suspended", 2)))

    # The suspension must wait for the bill that read "active"; otherwise the organisation
    # would hear "suspended" while that bill could still pay.
    assert wait_for(lambda: lock_waits(database) == 2)
    holder.rollback()
    bill_thread.join(10)
    suspension_thread.join(10)

    assert outcome(paid["value"]) == "applied"
    assert outcome(make_service(holder).redeem(bill(restaurant, 500, card))) == (
        "household_not_active")
    for session in (till, office, holder):
        session.close()
