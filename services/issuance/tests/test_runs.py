import threading
from collections import Counter
from datetime import datetime, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from shokudo_common.errors import InvalidInput, NotFound
from shokudo_common.testing import outbox_writer

REGION, PERIOD = "hoshizora-ku", "2026-02"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


def granted(database):
    """household_id -> number of grants it holds for PERIOD."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT household_id, amount_yen FROM grants WHERE period = :period"),
            {"period": PERIOD},
        ).all()
    return Counter(row.household_id for row in rows), {row.amount_yen for row in rows}


def announced(database):
    """household_id -> how many tickets_issued events name it."""
    batches = database.outbox_events("tickets_issued")
    return Counter(grant["household_id"] for batch in batches for grant in batch["grants"])


def test_a_run_grants_each_active_household_one_ticket_for_the_next_month(
        service, program, add_households, database):
    households = add_households(3)

    run = service.start_run(REGION, PERIOD)

    assert run["status"] == "completed"
    assert (run["households"], run["yen_granted"], run["amount_yen"]) == (3, 9000, 3000)
    assert run["valid_from"] == "2026-03-01T00:00:00+09:00"
    assert run["valid_until"] == "2026-04-01T00:00:00+09:00"
    assert run["started_at"] == "2026-02-20T00:30:00+09:00"

    [batch] = database.outbox_events("tickets_issued")
    assert {key: batch[key] for key in (
        "run_id", "region_id", "period", "amount_yen", "time_zone", "valid_from",
        "valid_until", "first_day", "last_day")} == {
        "run_id": run["run_id"], "region_id": REGION, "period": PERIOD, "amount_yen": 3000,
        "time_zone": "Asia/Tokyo", "valid_from": "2026-03-01T00:00:00+09:00",
        "valid_until": "2026-04-01T00:00:00+09:00", "first_day": "2026-03-01",
        "last_day": "2026-03-31"}
    assert sorted(grant["household_id"] for grant in batch["grants"]) == sorted(households)

    [completed] = database.outbox_events("issuance_run_completed")
    assert {key: completed[key] for key in ("run_id", "households", "yen_granted")} == {
        "run_id": run["run_id"], "households": 3, "yen_granted": 9000}


def test_tickets_issued_in_december_are_valid_in_january_of_the_next_year(
        service, program, add_households, clock, database):
    add_households(1)
    clock.moment = datetime(2026, 12, 20, 3, 0, tzinfo=timezone.utc)

    run = service.start_run(REGION, "2026-12")

    assert (run["valid_from"], run["valid_until"]) == (
        "2027-01-01T00:00:00+09:00", "2027-02-01T00:00:00+09:00")
    [batch] = database.outbox_events("tickets_issued")
    assert (batch["first_day"], batch["last_day"]) == ("2027-01-01", "2027-01-31")


def test_starting_a_run_twice_grants_nothing_twice_and_returns_the_same_run(
        service, program, add_households, database):
    add_households(3)
    first = service.start_run(REGION, PERIOD)
    events = database.outbox_events()

    second = service.start_run(REGION, PERIOD)

    assert second == first
    assert service.get_run(REGION, PERIOD) == first
    assert set(granted(database)[0].values()) == {1}
    assert database.outbox_events() == events


def test_batches_of_at_most_500_announce_every_household_exactly_once(
        service, program, add_households, database):
    households = add_households(1201)

    run = service.start_run(REGION, PERIOD)

    batches = database.outbox_events("tickets_issued")
    assert [len(batch["grants"]) for batch in batches] == [500, 500, 201]
    assert announced(database) == Counter(households)
    grant_ids = {grant["grant_id"] for batch in batches for grant in batch["grants"]}
    assert len(grant_ids) == 1201
    assert (run["households"], run["yen_granted"]) == (1201, 1201 * 3000)


class OutboxThatEnrolsBehindTheWalk:
    """The real outbox writer; while the second batch is staged, a household whose id sorts
    before every other becomes active (committed at once, on a connection of its own)."""

    LOWEST_ID = "00000000-0000-4000-8000-000000000000"

    def __init__(self, add_households_with_ids):
        self.writer = outbox_writer()
        self.enrol = add_households_with_ids
        self.batches = 0

    def add(self, session, event_type, payload):
        if event_type == "tickets_issued":
            self.batches += 1
            if self.batches == 2:
                self.enrol([self.LOWEST_ID])
        return self.writer.add(session, event_type, payload)


def test_a_household_that_becomes_active_behind_the_batches_walk_is_granted_before_closing(
        make_service, program, add_households, database):
    households = add_households(1201)

    def enrol(ids):
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO roster (household_id, region_id, organisation_id, status)"
                " VALUES (:id, :region, :organisation, 'active')"),
                [{"id": id_, "region": REGION, "organisation": ORGANISATION} for id_ in ids])

    run = make_service(outbox=OutboxThatEnrolsBehindTheWalk(enrol)).start_run(REGION, PERIOD)

    everyone = [*households, OutboxThatEnrolsBehindTheWalk.LOWEST_ID]
    assert run["status"] == "completed"
    assert granted(database)[0] == Counter(everyone)
    assert announced(database) == Counter(everyone)
    assert run["households"] == 1202


def test_two_runs_started_at_once_grant_each_household_once(
        make_service, program, add_households, database):
    households = add_households(1201)
    workers = [make_service(), make_service()]
    together = threading.Barrier(len(workers))
    runs, failures = [], []

    def start(worker):
        together.wait(timeout=10)
        try:
            runs.append(worker.start_run(REGION, PERIOD))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=start, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len({run["run_id"] for run in runs}) == 1
    assert {run["status"] for run in runs} == {"completed"}
    assert granted(database)[0] == Counter(households)
    assert announced(database) == Counter(households)
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_a_run_interrupted_after_its_first_batch_completes_when_started_again(
        make_service, interrupt_run, program, add_households, database):
    households = add_households(1201)
    interrupt_run(REGION, PERIOD, batches=1)

    restarted = make_service()
    assert restarted.get_run(REGION, PERIOD)["status"] == "running"
    assert sum(granted(database)[0].values()) == 500
    # The operator raises the amount meanwhile: the run keeps the amount it opened with.
    restarted.upsert_program(REGION, {"name": "星空区こども食堂", "amount_yen": 5000})

    run = restarted.start_run(REGION, PERIOD)

    assert run["status"] == "completed"
    assert (run["households"], run["yen_granted"]) == (1201, 1201 * 3000)
    holders, amounts = granted(database)
    assert holders == Counter(households)
    assert amounts == {3000}
    assert announced(database) == Counter(households)
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_a_run_too_large_to_answer_in_time_answers_running_and_is_carried_on_elsewhere(
        make_service, program, add_households, database):
    households = add_households(1201)
    hurried = make_service(answer_within=0)

    answer = hurried.start_run(REGION, PERIOD)

    # One batch, then the answer, and the rest handed to any replica.
    assert (answer["status"], answer["households"]) == ("running", 500)
    hurried.issuance.send.assert_called_once_with("continue_run", REGION, PERIOD)

    run = make_service().continue_run(REGION, PERIOD)

    assert (run["run_id"], run["status"], run["households"]) == (
        answer["run_id"], "completed", 1201)
    assert granted(database)[0] == Counter(households)
    assert announced(database) == Counter(households)
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_a_run_answered_in_time_is_not_handed_on(service, program, add_households):
    add_households(3)

    assert service.start_run(REGION, PERIOD)["status"] == "completed"
    service.issuance.send.assert_not_called()


def test_carrying_on_a_completed_run_grants_nothing_more_and_an_unknown_one_is_not_found(
        service, program, add_households, database):
    add_households(3)
    run = service.start_run(REGION, PERIOD)

    assert service.continue_run(REGION, PERIOD) == run
    assert sum(granted(database)[0].values()) == 3
    with pytest.raises(NotFound):
        service.continue_run(REGION, "2026-01")


def test_suspended_withdrawn_and_other_regions_households_get_nothing(
        service, program, add_households, database):
    active = add_households(2)
    add_households(1, status="suspended")
    add_households(1, status="withdrawn")
    add_households(1, region_id="umibe-cho")

    run = service.start_run(REGION, PERIOD)

    assert run["households"] == 2
    assert granted(database)[0] == Counter(active)


def test_a_run_with_nobody_on_the_roster_completes_without_tickets(
        service, program, database):
    run = service.start_run(REGION, PERIOD)

    assert (run["status"], run["households"], run["yen_granted"]) == ("completed", 0, 0)
    assert database.outbox_events("tickets_issued") == []
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_a_period_before_its_local_issue_day_is_refused_and_opens_nothing(
        service, program, add_households, clock, database):
    add_households(1)
    # 23:59 on 19 February in Tokyo.
    clock.moment = datetime(2026, 2, 19, 14, 59, tzinfo=timezone.utc)

    with pytest.raises(InvalidInput) as raised:
        service.start_run(REGION, PERIOD)

    assert raised.value.code == "period_not_started"
    with pytest.raises(NotFound):
        service.get_run(REGION, PERIOD)
    assert database.outbox_events("tickets_issued") == []
    assert database.outbox_events("issuance_run_completed") == []


def test_a_region_without_program_cannot_run(service):
    with pytest.raises(NotFound) as raised:
        service.start_run("umibe-cho", PERIOD)

    assert raised.value.code == "program_not_found"


def test_a_bad_region_and_period_are_both_named(service):
    with pytest.raises(InvalidInput) as raised:
        service.start_run("Umibe Cho", "2026-13")

    assert set(raised.value.details["fields"]) == {"region_id", "period"}


def test_an_unknown_run_is_not_found(service, program):
    with pytest.raises(NotFound) as raised:
        service.get_run(REGION, PERIOD)

    assert raised.value.code == "run_not_found"


def test_metrics_count_grants_yen_and_completed_runs_once(service, add_households):
    region = "metrics-cho"
    service.upsert_program(region, {"name": "メトリクス町", "amount_yen": 2500})
    add_households(4, region_id=region)
    names = ("shokudo_grants_issued_total", "shokudo_granted_yen_total",
             "shokudo_issuance_runs_completed_total")

    def samples():
        return [REGISTRY.get_sample_value(name, {"region_id": region}) or 0 for name in names]

    before = samples()
    service.start_run(region, PERIOD)
    service.start_run(region, PERIOD)

    assert [after - earlier for after, earlier in zip(samples(), before)] == [4, 10_000, 1]


def test_the_grant_accounts_sum_the_grants_of_the_region_and_period(
        service, program, add_households):
    add_households(3)
    add_households(2, region_id="umibe-cho")
    service.upsert_program("umibe-cho", {"name": "海辺町", "amount_yen": 5000})
    run = service.start_run(REGION, PERIOD)
    service.start_run("umibe-cho", PERIOD)

    accounts = service.grant_accounts(REGION, PERIOD)

    assert accounts == {
        "region_id": REGION, "period": PERIOD, "grants": 3, "yen_granted": 9000,
        "run": {"run_id": run["run_id"], "status": "completed", "households": 3,
                "yen_granted": 9000},
    }
    assert service.grant_accounts(REGION, "2026-03") == {
        "region_id": REGION, "period": "2026-03", "grants": 0, "yen_granted": 0, "run": None}
