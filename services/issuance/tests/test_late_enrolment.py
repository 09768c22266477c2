"""Households that become active after their region's run: granted now or next, exactly once."""

import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from shokudo_common.periods import Period
from shokudo_common.testing import outbox_writer

from issuance import domain, late, roster

TOKYO = ZoneInfo("Asia/Tokyo")
REGION, PERIOD = "hoshizora-ku", "2026-02"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


def fact(household_id, status="active", version=1, event_id=None):
    """A household event as enrollment publishes it."""
    return {
        "event_id": event_id or str(uuid.uuid4()), "household_id": household_id,
        "region_id": REGION, "organisation_id": ORGANISATION, "channel": "card",
        "language": "ja", "status": status, "enrolled_at": "2026-02-01T10:00:00+09:00",
        "version": version,
    }


def enrol(service, household_id=None):
    household_id = household_id or str(uuid.uuid4())
    service.household_enrolled(fact(household_id))
    return household_id


def grants(database, period=PERIOD):
    """household_id -> how many grants it holds for ``period``."""
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT household_id FROM grants WHERE period = :p"),
                                  {"p": period}).scalars().all()
    return Counter(rows)


def announced(database, period=PERIOD):
    """household_id -> how many tickets_issued events of ``period`` name it."""
    return Counter(grant["household_id"] for batch in database.outbox_events("tickets_issued")
                   if batch["period"] == period for grant in batch["grants"])


def late_count(outcome):
    labels = {"region_id": REGION, "outcome": outcome}
    return REGISTRY.get_sample_value("shokudo_late_enrolments_total", labels) or 0


def program_with(service, late_enrolment):
    return service.upsert_program(REGION, {"name": "星空区こども食堂",
                                           "late_enrolment": late_enrolment})


@pytest.fixture
def after_the_run(service, clock):
    """Two households granted by the February run, then 25 February in Tokyo."""

    def run(late_enrolment="grant_now"):
        program_with(service, late_enrolment)
        on_time = [enrol(service), enrol(service)]
        completed = service.start_run(REGION, PERIOD)
        clock.set(datetime(2026, 2, 25, 10, 0, tzinfo=TOKYO))
        return on_time, completed

    return run


# -- grant_now ---------------------------------------------------------------------------------

def test_a_household_enrolled_after_the_run_gets_that_runs_grant_at_once(
        service, after_the_run, database):
    on_time, completed = after_the_run("grant_now")
    before = late_count("granted")

    latecomer = enrol(service)

    assert grants(database) == Counter([*on_time, latecomer])
    batch = database.outbox_events("tickets_issued")[-1]
    assert [grant["household_id"] for grant in batch["grants"]] == [latecomer]
    assert (batch["run_id"], batch["amount_yen"], batch["valid_from"], batch["valid_until"]) == (
        completed["run_id"], 3000, "2026-03-01T00:00:00+09:00", "2026-04-01T00:00:00+09:00")
    # The run's figures stay the sum of its grants.
    run = service.get_run(REGION, PERIOD)
    assert (run["status"], run["households"], run["yen_granted"]) == ("completed", 3, 9000)
    assert late_count("granted") == before + 1


def test_a_late_household_is_granted_on_the_last_day_of_the_window(service, after_the_run,
                                                                    clock, database):
    after_the_run("grant_now")
    clock.set(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO))

    latecomer = enrol(service)

    assert grants(database)[latecomer] == 1


def test_a_duplicate_enrolment_event_grants_once(service, after_the_run, database):
    after_the_run("grant_now")
    household_id = str(uuid.uuid4())
    enrolled = fact(household_id)

    service.household_enrolled(enrolled)
    service.household_enrolled(enrolled)                                   # delivered twice
    service.household_enrolled({**enrolled, "event_id": str(uuid.uuid4())})  # republished

    assert grants(database)[household_id] == 1
    assert announced(database)[household_id] == 1


def test_a_household_enrolled_before_the_run_gets_its_grant_from_the_run_not_twice(
        service, after_the_run, database):
    (household_id, _), _ = after_the_run("grant_now")
    events_after_run = len(database.outbox_events("tickets_issued"))

    # Its enrolment republished after the run, then a suspension and a reinstatement.
    service.household_enrolled(fact(household_id))
    service.household_suspended(fact(household_id, "suspended", 2))
    service.household_reinstated(fact(household_id, "active", 3))

    assert grants(database)[household_id] == 1
    assert announced(database)[household_id] == 1
    assert len(database.outbox_events("tickets_issued")) == events_after_run
    assert service.get_run(REGION, PERIOD)["households"] == 2


def test_a_household_reinstated_after_the_run_gets_the_grant_it_missed(
        service, clock, database):
    program_with(service, "grant_now")
    household_id = enrol(service)
    service.household_suspended(fact(household_id, "suspended", 2))
    service.start_run(REGION, PERIOD)
    assert grants(database)[household_id] == 0

    service.household_reinstated(fact(household_id, "active", 3))

    assert grants(database)[household_id] == 1
    assert announced(database)[household_id] == 1


def test_a_suspension_after_the_run_grants_nothing(service, after_the_run, database):
    (household_id, _), _ = after_the_run("grant_now")
    events = database.outbox_events()

    service.household_suspended(fact(household_id, "suspended", 2))

    assert database.outbox_events() == events


# -- next_period -------------------------------------------------------------------------------

def test_with_next_period_a_late_household_waits_for_the_next_run(
        service, after_the_run, clock, database):
    on_time, _ = after_the_run("next_period")
    before = late_count("next_period")

    latecomer = enrol(service)

    assert grants(database) == Counter(on_time)
    assert announced(database)[latecomer] == 0
    assert service.get_run(REGION, PERIOD)["households"] == 2
    assert late_count("next_period") == before + 1

    clock.set(datetime(2026, 3, 20, 0, 30, tzinfo=TOKYO))
    service.start_run(REGION, "2026-03")

    assert grants(database, "2026-03") == Counter([*on_time, latecomer])
    assert grants(database)[latecomer] == 0


def test_the_setting_is_read_when_the_household_becomes_active(
        service, after_the_run, database):
    after_the_run("next_period")
    program_with(service, "grant_now")

    latecomer = enrol(service)

    assert grants(database)[latecomer] == 1


# -- not late ----------------------------------------------------------------------------------

def test_nothing_is_granted_late_once_the_runs_tickets_can_no_longer_be_used(
        service, after_the_run, clock, database):
    on_time, _ = after_the_run("grant_now")
    # 00:30 on 1 April in Tokyo (still 31 March in UTC): February's tickets have expired and
    # March's run has not happened.
    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=TOKYO))
    before = late_count("window_closed")

    latecomer = enrol(service)

    assert grants(database) == Counter(on_time)
    assert announced(database)[latecomer] == 0
    assert late_count("window_closed") == before + 1


def test_a_household_enrolled_before_any_run_waits_for_the_first(service, database):
    program_with(service, "grant_now")

    household_id = enrol(service)

    assert database.outbox_events("tickets_issued") == []
    assert service.start_run(REGION, PERIOD)["households"] == 1
    assert grants(database)[household_id] == 1


def test_a_household_enrolled_while_the_run_is_running_is_granted_by_the_run(
        service, make_service, interrupt_run, database):
    program_with(service, "grant_now")
    on_time = [enrol(service) for _ in range(3)]
    interrupt_run(REGION, PERIOD, batches=0)

    latecomer = enrol(service)

    assert announced(database)[latecomer] == 0
    make_service().start_run(REGION, PERIOD)
    assert grants(database) == Counter([*on_time, latecomer])
    assert announced(database) == Counter([*on_time, latecomer])


def wait_until(condition, timeout=10):
    """Poll ``condition`` until it holds; False if it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def waiting_for_a_region_lock(database):
    with database.engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )).scalar() > 0


def test_a_run_cannot_close_on_a_household_that_became_active_while_it_granted(
        make_service, interrupt_run, service, clock, database):
    """The roster change holds the region's lock until it commits: the run's last batch waits
    for it and sees the household, instead of closing while the change believes it is in."""
    program_with(service, "grant_now")
    on_time = enrol(service)
    interrupt_run(REGION, PERIOD, batches=0)

    # A roster change at work: the household is active, judged "in the run", not committed.
    activating = make_service()
    household, _ = roster.apply(activating.db, "household_enrolled",
                                {**fact(str(uuid.uuid4())), "enrolled_at": None})
    assert late.grant_if_late(activating.db, outbox_writer(), household,
                              clock.now()) == domain.IN_RUN

    finishing = threading.Thread(target=make_service().start_run, args=(REGION, PERIOD))
    finishing.start()
    # Without the lock the run would finish here, before the household is committed.
    blocked = wait_until(lambda: not finishing.is_alive() or waiting_for_a_region_lock(database))
    still_running = finishing.is_alive()
    activating.db.commit()
    finishing.join(timeout=30)

    assert blocked and still_running
    assert grants(database) == Counter([on_time, household.household_id])
    assert service.get_run(REGION, PERIOD)["status"] == "completed"


# -- the rule itself ---------------------------------------------------------------------------

UNTIL = datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO)
BEFORE = datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO)


@pytest.mark.parametrize("status, valid_until, setting, now, outcome", [
    (None, None, "grant_now", BEFORE, domain.IN_RUN),
    (domain.RUNNING, UNTIL, "grant_now", BEFORE, domain.IN_RUN),
    (domain.COMPLETED, UNTIL, "grant_now", BEFORE, domain.GRANTED),
    (domain.COMPLETED, UNTIL, "next_period", BEFORE, domain.DEFERRED),
    (domain.COMPLETED, UNTIL, "grant_now", UNTIL, domain.WINDOW_CLOSED),
    (domain.COMPLETED, UNTIL, "next_period", UNTIL, domain.WINDOW_CLOSED),
])
def test_what_a_household_that_becomes_active_gets(status, valid_until, setting, now, outcome):
    assert domain.late_grant(status, valid_until, setting, now) == outcome


def test_periods_compare_as_text_in_order():
    # runs.latest orders runs by their period text; that is calendar order.
    assert sorted(["2027-01", "2026-12", "2026-02"]) == [
        str(Period(2026, 2)), str(Period(2026, 12)), str(Period(2027, 1))]
