"""Starting a run with an idempotency key: the first answer again, another run refused."""

import threading
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from shokudo_common.errors import Conflict, InvalidInput

REGION, PERIOD = "hoshizora-ku", "2026-02"
KEY = "operator:run-hoshizora-2026-02"


def grants(database):
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT household_id FROM grants")).scalars().all()
    return Counter(rows)


def stored_keys(database):
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM idempotent_requests")).scalar()


def test_a_run_started_again_with_its_key_gets_the_first_answer_and_grants_nothing_more(
        make_service, program, add_households, database):
    households = add_households(3)
    first = make_service().start_run(REGION, PERIOD, idempotency_key=KEY)
    events = database.outbox_events()

    again = make_service().start_run(REGION, PERIOD, idempotency_key=KEY)

    assert again == first
    assert first["status"] == "completed" and first["households"] == 3
    assert grants(database) == Counter(households)
    assert database.outbox_events() == events


def test_the_same_key_for_another_period_is_refused_and_opens_nothing(
        make_service, program, add_households, clock, database):
    add_households(2)
    make_service().start_run(REGION, PERIOD, idempotency_key=KEY)
    clock.moment = datetime(2026, 3, 20, 3, 0, tzinfo=timezone.utc)

    with pytest.raises(Conflict) as raised:
        make_service().start_run(REGION, "2026-03", idempotency_key=KEY)

    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.details == {"idempotency_key": KEY}
    assert len(database.outbox_events("issuance_run_completed")) == 1


def test_a_run_refused_before_its_issue_day_keeps_no_answer_so_it_can_start_later(
        make_service, program, add_households, clock, database):
    add_households(1)
    clock.moment = datetime(2026, 2, 19, 14, 59, tzinfo=timezone.utc)  # 23:59 in Tokyo
    too_early = make_service()
    with pytest.raises(InvalidInput):
        too_early.start_run(REGION, PERIOD, idempotency_key=KEY)
    # The worker ends; its transaction goes with it.
    too_early.db.rollback()
    assert stored_keys(database) == 0

    clock.moment = datetime(2026, 2, 19, 15, 0, tzinfo=timezone.utc)  # 00:00 on the 20th
    run = make_service().start_run(REGION, PERIOD, idempotency_key=KEY)

    assert run["status"] == "completed" and run["households"] == 1


def test_a_run_cut_short_and_sent_again_with_its_key_carries_on_to_the_end(
        make_service, interrupt_run, program, add_households, database):
    households = add_households(1201)
    interrupt_run(REGION, PERIOD, batches=1, idempotency_key=KEY)

    with pytest.raises(Conflict):
        make_service().start_run(REGION, "2026-01", idempotency_key=KEY)
    run = make_service().start_run(REGION, PERIOD, idempotency_key=KEY)

    assert (run["status"], run["households"]) == ("completed", 1201)
    assert grants(database) == Counter(households)
    assert make_service().start_run(REGION, PERIOD, idempotency_key=KEY) == run


def test_two_calls_with_one_key_at_once_grant_once_and_answer_the_same(
        make_service, program, add_households, database):
    households = add_households(1201)
    workers = [make_service(), make_service()]
    together = threading.Barrier(len(workers))
    answers = []

    def start(worker):
        together.wait(timeout=10)
        answers.append(worker.start_run(REGION, PERIOD, idempotency_key=KEY))

    threads = [threading.Thread(target=start, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 2 and answers[0] == answers[1]
    assert answers[0]["status"] == "completed"
    assert grants(database) == Counter(households)
    assert len(database.outbox_events("issuance_run_completed")) == 1
