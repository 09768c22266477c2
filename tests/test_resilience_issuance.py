"""Exactly one grant per household and period, whatever runs twice at once or dies half-way.

The roster is filled as enrollment fills it, by household_enrolled facts on the broker (the
same payload, versions included), so that a run has hundreds of households and several
batches of 500 without enrolling each through the gateway. The books are read from issuance's
and redemption's own databases.
"""

import signal
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from regions import enrol_on_the_roster
from support import current_period, metric, rows, scalar, wait_until

AMOUNT_YEN = 3000
BATCH = 500
TWIN_HOUSEHOLDS = 700  # two batches the two calls could take turns on
CRASH_HOUSEHOLDS = 1200  # one batch before the crash, two after

GRANTS = """
    SELECT household_id, run_id FROM grants WHERE region_id = :region AND period = :period
"""
RUNS = "SELECT * FROM runs WHERE region_id = :region AND period = :period"
ANNOUNCED_GRANTS = """
    SELECT grant_entry->>'household_id' AS household_id
      FROM outbox, jsonb_array_elements(payload->'grants') AS grant_entry
     WHERE event_type = 'tickets_issued' AND payload->>'run_id' = :run
"""
TICKETS = "SELECT household_id FROM tickets WHERE region_id = :region AND period = :period"
HOUSEHOLD_AT = """
    SELECT household_id FROM roster WHERE region_id = :region AND status = 'active'
     ORDER BY household_id OFFSET :offset LIMIT 1
"""
WAITING_ON_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def start_run_in_background(operator, region_id, period):
    """Ask for the run on a connection of its own; the answer lands in the returned list."""
    answers = []
    caller = operator.as_(operator.token)

    def ask():
        response = caller.request("POST", f"/v1/regions/{region_id}/issuance-runs",
                                  expect=None, json={"period": str(period)})
        answers.append((response.status_code, response.json()))

    thread = threading.Thread(target=ask)
    thread.start()
    return thread, answers


def assert_one_grant_each(stack, region_id, period, households, run):
    grants = rows(stack, "issuance", GRANTS, region=region_id, period=str(period))
    assert sorted(grant["household_id"] for grant in grants) == sorted(households)
    assert {grant["run_id"] for grant in grants} == {run["id"]}

    [only_run] = rows(stack, "issuance", RUNS, region=region_id, period=str(period))
    assert (only_run["id"], only_run["status"]) == (run["id"], "completed")
    assert (only_run["households"], only_run["yen_granted"]) == (
        len(households), len(households) * AMOUNT_YEN)

    # Each grant announced once, so that redemption opens exactly one ticket per household.
    announced = rows(stack, "issuance", ANNOUNCED_GRANTS, run=run["id"])
    assert sorted(grant["household_id"] for grant in announced) == sorted(households)
    tickets = wait_until(
        lambda: _all_tickets(stack, region_id, period, len(households)), timeout=60,
        what="redemption opening a ticket for every grant",
    )
    assert sorted(ticket["household_id"] for ticket in tickets) == sorted(households)


def _all_tickets(stack, region_id, period, expected):
    tickets = rows(stack, "redemption", TICKETS, region=region_id, period=str(period))
    return tickets if len(tickets) >= expected else None


def test_two_runs_started_at_the_same_moment_grant_each_household_once(
        resilient_stack, resilient_operator):
    region_id, (period, _) = "twin-ku", current_period()
    resilient_operator.put(f"/v1/regions/{region_id}/program", {"name": "双子区"})
    households = enrol_on_the_roster(resilient_stack, resilient_operator, region_id,
                                     TWIN_HOUSEHOLDS)
    replicas = [resilient_stack.process("issuance", replica) for replica in (0, 1)]
    calls_before = [_start_run_calls(replica) for replica in replicas]

    start = threading.Barrier(2)
    answers = []

    def operator_asks():
        caller = resilient_operator.as_(resilient_operator.token)
        start.wait()
        answers.append(caller.post(f"/v1/regions/{region_id}/issuance-runs",
                                   {"period": str(period)}))

    operators = [threading.Thread(target=operator_asks) for _ in range(2)]
    for operator in operators:
        operator.start()
    for operator in operators:
        operator.join(timeout=90)

    assert len(answers) == 2
    assert answers[0]["run_id"] == answers[1]["run_id"]
    assert [(answer["status"], answer["households"]) for answer in answers] == [
        ("completed", TWIN_HOUSEHOLDS)] * 2
    # One call reached each replica (counted once its answer is sent).
    wait_until(lambda: [_start_run_calls(replica) - before
                        for replica, before in zip(replicas, calls_before)] == [1, 1],
               what="each issuance replica having served one of the two calls")
    [run] = rows(resilient_stack, "issuance", RUNS, region=region_id, period=str(period))
    assert_one_grant_each(resilient_stack, region_id, period, households, run)


def _start_run_calls(process):
    return metric(process, "issuance_rpc_requests_total", method_name="start_run")


@pytest.fixture
def issuance_db(resilient_stack):
    engine = create_engine(resilient_stack.database_uri("issuance"))
    yield engine
    engine.dispose()


def test_a_run_killed_half_way_completes_after_restart_with_one_grant_each(
        resilient_stack, resilient_operator, issuance_db):
    region_id, (period, _) = "crash-ku", current_period()
    operator = resilient_operator
    operator.put(f"/v1/regions/{region_id}/program", {"name": "クラッシュ区"})
    households = enrol_on_the_roster(resilient_stack, operator, region_id, CRASH_HOUSEHOLDS)

    # A grant of another region's run for the first household of the second batch, left
    # uncommitted: the run commits its first batch, then waits on that household's unique
    # key. That is half-way, for as long as the test holds the transaction open.
    holder = _run_of_an_empty_region(operator, "crash-holder-ku", period)
    blocked_household = scalar(resilient_stack, "issuance", HOUSEHOLD_AT, region=region_id,
                               offset=BATCH)
    hold = issuance_db.connect()
    transaction = hold.begin()
    hold.execute(text(
        "INSERT INTO grants (id, run_id, household_id, organisation_id, region_id, period,"
        " amount_yen) VALUES (:id, :run, :household, :organisation, :region, :period, :yen)"
    ), {"id": str(uuid.uuid4()), "run": holder["run_id"], "household": blocked_household,
        "organisation": str(uuid.uuid4()), "region": "crash-holder-ku", "period": str(period),
        "yen": AMOUNT_YEN})

    try:
        asking, first_answer = start_run_in_background(operator, region_id, period)
        run = wait_until(lambda: _half_way(resilient_stack, region_id, period), timeout=60,
                         what="the run's first batch committed and its second one waiting")
        worker = _replica_carrying_out(resilient_stack, run["id"])
        resilient_stack.stop_component("issuance", worker.replica, signal.SIGKILL)
    finally:
        transaction.rollback()
        hold.close()

    # The other replica receives the unanswered request again; the killed one comes back.
    resilient_stack.wait_healthy(resilient_stack.start_component("issuance", worker.replica))
    asking.join(timeout=60)
    again = operator.post(f"/v1/regions/{region_id}/issuance-runs", {"period": str(period)})

    assert again["run_id"] == run["id"]
    assert (again["status"], again["households"], again["yen_granted"]) == (
        "completed", CRASH_HOUSEHOLDS, CRASH_HOUSEHOLDS * AMOUNT_YEN)
    assert first_answer and first_answer[0][0] in (200, 503), first_answer
    assert_one_grant_each(resilient_stack, region_id, period, households, run)


def _run_of_an_empty_region(operator, region_id, period):
    operator.put(f"/v1/regions/{region_id}/program", {"name": "空の区"})
    return operator.post(f"/v1/regions/{region_id}/issuance-runs", {"period": str(period)})


def _half_way(stack, region_id, period):
    """The run, once exactly one batch is committed and the next one waits on a lock."""
    found = rows(stack, "issuance", RUNS, region=region_id, period=str(period))
    if not found or found[0]["households"] != BATCH:
        return None
    if scalar(stack, "issuance", WAITING_ON_A_LOCK) < 1:
        return None
    assert found[0]["status"] == "running"
    return found[0]


def _replica_carrying_out(stack, run_id):
    """The issuance process that logged the run's first batch."""
    def logged_it(process):
        return any(run_id in line and "tickets issued" in line
                   for line in process.log_path.read_text().splitlines())

    return wait_until(
        lambda: next((process for process in (stack.process("issuance", replica)
                                              for replica in (0, 1))
                      if logged_it(process)), None),
        what="the issuance replica carrying out the run",
    )


@pytest.fixture
def hurried_issuance(resilient_stack):
    """Both issuance replicas answering an operator's run after its first batch; then as
    they were, so that the other tests of the stack see the usual setting."""
    hurry = {"ISSUANCE_ANSWER_WITHIN_SECONDS": "0"}
    for replica in (0, 1):
        resilient_stack.restart_component("issuance", replica, signal.SIGTERM, env=hurry)
    yield
    for replica in (0, 1):
        resilient_stack.restart_component("issuance", replica, signal.SIGTERM)


def test_a_run_answered_before_it_ends_is_carried_on_to_one_grant_each(
        resilient_stack, resilient_operator, hurried_issuance):
    region_id, (period, _) = "ookii-ku", current_period()
    operator = resilient_operator
    operator.put(f"/v1/regions/{region_id}/program", {"name": "大きい区"})
    households = enrol_on_the_roster(resilient_stack, operator, region_id, CRASH_HOUSEHOLDS)

    answer = operator.post(f"/v1/regions/{region_id}/issuance-runs", {"period": str(period)})

    # The operator hears of the run at once; its other batches follow on either replica.
    assert (answer["status"], answer["households"]) == ("running", BATCH)
    completed = wait_until(
        lambda: _completed(operator, region_id, period), timeout=60,
        what="the run carried on to its end after its answer",
    )
    assert (completed["run_id"], completed["households"]) == (answer["run_id"],
                                                              CRASH_HOUSEHOLDS)
    [run] = rows(resilient_stack, "issuance", RUNS, region=region_id, period=str(period))
    assert_one_grant_each(resilient_stack, region_id, period, households, run)


def _completed(operator, region_id, period):
    run = operator.get(f"/v1/regions/{region_id}/issuance-runs/{period}")
    return run if run["status"] == "completed" else None
