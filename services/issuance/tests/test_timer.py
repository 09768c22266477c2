import threading
from collections import Counter
from datetime import datetime, timezone

import pytest
from nameko.containers import ServiceContainer
from nameko.testing.utils import get_extension
from sqlalchemy import text

from shokudo_common.entrypoints import ConfiguredTimer
from issuance.service import IssuanceService

REGION = "hoshizora-ku"
UTC = timezone.utc


def runs(database):
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT region_id, period, status FROM runs")).all()
    return sorted(tuple(row) for row in rows)


@pytest.mark.parametrize("time_zone, moment, expected", [
    # 00:30 on the 20th in Tokyo; the UTC date is still the 19th.
    ("Asia/Tokyo", datetime(2026, 2, 19, 15, 30, tzinfo=UTC), [(REGION, "2026-02", "completed")]),
    # 23:59 on the 19th in Tokyo.
    ("Asia/Tokyo", datetime(2026, 2, 19, 14, 59, tzinfo=UTC), []),
    # 23:59 on the 19th in Los Angeles; the UTC date is already the 20th.
    ("America/Los_Angeles", datetime(2026, 2, 20, 7, 59, tzinfo=UTC), []),
    # 00:00 on the 20th in Los Angeles.
    ("America/Los_Angeles", datetime(2026, 2, 20, 8, 0, tzinfo=UTC),
     [(REGION, "2026-02", "completed")]),
])
def test_the_timer_starts_a_run_on_the_local_issue_day_and_not_the_day_before(
        service, add_households, clock, database, time_zone, moment, expected):
    service.upsert_program(REGION, {"name": "星空区", "time_zone": time_zone})
    add_households(2)
    clock.moment = moment

    service.start_due_runs()

    assert runs(database) == expected


def test_each_region_is_started_on_its_own_issue_day(service, add_households, clock, database):
    service.upsert_program(REGION, {"name": "星空区", "issue_day": 20})
    service.upsert_program("umibe-cho", {"name": "海辺町", "issue_day": 25})
    add_households(1)
    add_households(1, region_id="umibe-cho")
    clock.moment = datetime(2026, 2, 22, 3, 0, tzinfo=UTC)

    service.start_due_runs()

    assert runs(database) == [(REGION, "2026-02", "completed")]


def test_a_second_tick_in_the_same_month_grants_nothing_more(
        service, add_households, database):
    service.upsert_program(REGION, {"name": "星空区"})
    add_households(2)
    service.start_due_runs()
    events = database.outbox_events()

    service.start_due_runs()

    assert database.outbox_events() == events


def test_the_timer_finishes_a_run_left_running_even_after_the_month_has_turned(
        service, interrupt_run, make_service, add_households, clock, database):
    households = add_households(700)
    service.upsert_program(REGION, {"name": "星空区"})
    interrupt_run(REGION, "2026-02", batches=1)
    # 5 March in Tokyo: March's issue day is still to come.
    clock.moment = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)

    make_service().start_due_runs()

    assert runs(database) == [(REGION, "2026-02", "completed")]
    batches = database.outbox_events("tickets_issued")
    assert Counter(grant["household_id"] for batch in batches
                   for grant in batch["grants"]) == Counter(households)


def test_replicas_ticking_at_once_start_one_run_with_one_grant_each(
        make_service, add_households, database):
    households = add_households(1100)
    replicas = [make_service() for _ in range(3)]
    replicas[0].upsert_program(REGION, {"name": "星空区"})
    together = threading.Barrier(len(replicas))
    failures = []

    def tick(replica):
        together.wait(timeout=10)
        try:
            replica.start_due_runs()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=tick, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert runs(database) == [(REGION, "2026-02", "completed")]
    with database.engine.connect() as connection:
        holders = Counter(connection.execute(text("SELECT household_id FROM grants")).scalars())
    assert holders == Counter(households)
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_the_timer_interval_comes_from_the_config():
    container = ServiceContainer(IssuanceService, {
        "AMQP_URI": "memory://", "ISSUANCE_TIMER_SECONDS": "5"})
    timer = get_extension(container, ConfiguredTimer)

    timer.setup()

    assert timer.interval == 5.0
