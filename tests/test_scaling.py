"""Each service scaled on its own: two replicas each of issuance, redemption and notification,
separate processes on one broker, share the work and keep every money rule.

Two regions are served at once. Their households reach issuance as enrollment's facts, which
both issuance replicas consume; each region's run is asked for twice at the same moment; the
tickets reach both redemption replicas; and every card then meets more bills at once than its
ticket can pay, from two restaurants, each paid bill told to the organisation once. The books
are read the way the operator reads them, through the gateway's accounts check, not from the
services' tables.

Then the issuance timer of both replicas, ticking every second, races for a region's run: the
test holds the region's roster lock until both are seen waiting on it, and the run then
happens once, its batches granted by both processes, one grant per household.
"""

import json
import re
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine

from issuance.runs import lock_region_roster

from regions import bill, enrol_on_the_roster, open_region
from support import body_text, current_period, messages_to, metric, rows, wait_until

REGIONS = ("scale-kita", "scale-minami")
ROSTER_HOUSEHOLDS = 600  # two batches of grants per region, beside the card households
CARD_HOUSEHOLDS = 4
BILLS_PER_CARD = 8
BILL_YEN = 500
TICKET_YEN = 3000
PAID_PER_CARD = TICKET_YEN // BILL_YEN
# What each card's notices to its organisation say is left, one notice per bill paid.
BALANCES_TOLD = {TICKET_YEN - BILL_YEN * paid for paid in range(1, PAID_PER_CARD + 1)}
CARD_NOTICE = "カード利用のお知らせ"
CARD_NOTICES = """
    SELECT outcome, count(*) FROM deliveries
     WHERE region_id = :region AND template = 'organisation_ticket_redeemed' GROUP BY outcome
"""

TIMER_REGION = "scale-timer"
TIMER_HOUSEHOLDS = 600  # two batches of grants (500 and 100), one for each replica
BATCH = 500
ROSTER_LOCK_WAITERS = """
    SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock'
       AND wait_event = 'advisory' AND query LIKE :key
"""
RUNS = "SELECT id, period, status, households FROM runs WHERE region_id = :region"
GRANTS = "SELECT household_id, count(*) AS grants FROM grants WHERE region_id = :region" \
         " GROUP BY household_id"


@pytest.fixture(scope="module")
def regions(resilient_stack, resilient_gateway, resilient_operator):
    """Both regions with two restaurants and their card households, not yet issued."""
    opened = []
    for region_id in REGIONS:
        region = open_region(resilient_stack, resilient_gateway, resilient_operator, region_id,
                             restaurants=2)
        region.enrol(CARD_HOUSEHOLDS, channel="card")
        opened.append(region)
    return opened


def test_two_replicas_of_issuance_and_redemption_share_the_work_and_keep_the_books(
        resilient_stack, resilient_operator, regions):
    issuance = [resilient_stack.process("issuance", replica) for replica in (0, 1)]
    redemption = [resilient_stack.process("redemption", replica) for replica in (0, 1)]
    notification = [resilient_stack.process("notification", replica) for replica in (0, 1)]
    replicas = issuance + redemption + notification
    facts_before = [_facts_applied(process) for process in replicas]

    for region in regions:
        enrol_on_the_roster(resilient_stack, resilient_operator, region.region_id,
                            ROSTER_HOUSEHOLDS, expected_total=_households(region))

    period, _ = current_period()
    runs = _ask_for_every_run_twice_at_once(resilient_operator, regions, period)

    # One run per region, whichever replica each of the two requests reached.
    for region in regions:
        answers = runs[region.region_id]
        assert len(answers) == 2, answers
        assert len({answer["run_id"] for answer in answers}) == 1, answers
        assert {answer["households"] for answer in answers} == {_households(region)}

    for region in regions:
        wait_until(region.counter_ready, timeout=90,
                   what=f"redemption ready to serve {region.region_id}")
    answers = _present_every_card_at_once(regions)

    # Each card paid for exactly the bills its ticket could, never more.
    for card, card_answers in answers.items():
        applied = [body for body in card_answers if body["outcome"] == "applied"]
        declined = [body for body in card_answers if body["outcome"] == "declined"]
        assert len(applied) == PAID_PER_CARD, (card, card_answers)
        assert {body["reason"] for body in declined} == {"nothing_left"}
        assert min(body["balance_yen"] for body in applied) == 0

    # The books of each region balance: one grant and one ticket per household.
    for region in regions:
        accounts = wait_until(lambda: _balanced_accounts(resilient_operator, region, period),
                              timeout=60, what=f"the books of {region.region_id} balancing")
        assert accounts["issuance"]["grants"] == _households(region)
        assert accounts["redemption"]["tickets"] == _households(region)
        assert accounts["redemption"]["redeemed_yen"] == CARD_HOUSEHOLDS * TICKET_YEN

    # Each bill paid is told to the card's organisation once, whichever notification replica
    # took the fact and whichever sent it: one notice per balance left, none twice.
    for region in regions:
        told = wait_until(lambda: _notices_complete(resilient_stack, region), timeout=60,
                          what=f"the notices of {region.region_id}'s bills sent")
        assert told == {household["external_ref"]: sorted(BALANCES_TOLD)
                        for household in region.households}
        assert rows(resilient_stack, "notification", CARD_NOTICES, region=region.region_id) == [
            {"outcome": "sent", "count": CARD_HOUSEHOLDS * PAID_PER_CARD}]

    # Both replicas of each service did part of the work.
    facts_applied = [_facts_applied(process) - before
                     for process, before in zip(replicas, facts_before)]
    assert all(count > 0 for count in facts_applied), facts_applied
    bills = [metric(process, "shokudo_redemptions_total") for process in redemption]
    assert all(count > 0 for count in bills), bills


@pytest.fixture
def timers_every_second(resilient_stack):
    """Both issuance replicas restarted with a timer of one second, and back afterwards.

    Only for this test: the stack's other regions have the default issue day, and from the
    20th on a fast timer would start their month's runs in the middle of other tests.
    """
    for replica in (0, 1):
        resilient_stack.stop_component("issuance", replica)
        resilient_stack.start_component("issuance", replica, env={"ISSUANCE_TIMER_SECONDS": "1"})
    replicas = [resilient_stack.process("issuance", replica) for replica in (0, 1)]
    for process in replicas:
        resilient_stack.wait_healthy(process)
    yield replicas
    for replica in (0, 1):
        resilient_stack.restart_component("issuance", replica)


def test_both_replicas_timers_race_for_a_run_that_happens_once(
        resilient_stack, resilient_operator, timers_every_second):
    stack, operator = resilient_stack, resilient_operator
    households = enrol_on_the_roster(stack, operator, TIMER_REGION, TIMER_HOUSEHOLDS)
    _, this_month = current_period()

    with _roster_locked(stack, TIMER_REGION):
        # Issue day 1 has come: from its next tick, each replica's timer starts the run.
        operator.put(f"/v1/regions/{TIMER_REGION}/program",
                     {"name": "スケール・タイマー町", "issue_day": 1})
        wait_until(lambda: _waiting_for_the_roster(stack, TIMER_REGION) == 2, timeout=60,
                   what="both issuance replicas' timers waiting for the region's roster lock")

    run = wait_until(lambda: _completed_run(operator, TIMER_REGION, this_month), timeout=60,
                     what="the timer-started run completed")
    assert rows(stack, "issuance", RUNS, region=TIMER_REGION) == [{
        "id": run["run_id"], "period": str(this_month), "status": "completed",
        "households": TIMER_HOUSEHOLDS}]
    grants = rows(stack, "issuance", GRANTS, region=TIMER_REGION)
    assert sorted(grant["household_id"] for grant in grants) == sorted(households)
    assert {grant["grants"] for grant in grants} == {1}
    # The one that got the lock first granted a batch; the other, waiting already, the next.
    assert sorted(_batches_logged(process, run["run_id"]) for process in timers_every_second) \
        == [[TIMER_HOUSEHOLDS - BATCH], [BATCH]]
    accounts = wait_until(lambda: _balanced(operator, TIMER_REGION, this_month), timeout=60,
                          what="the books of the timer's run balancing")
    assert accounts["redemption"]["tickets"] == TIMER_HOUSEHOLDS


@contextmanager
def _roster_locked(stack, region_id):
    """Hold the region's roster lock, which every batch of its runs takes first."""
    engine = create_engine(stack.database_uri("issuance"))
    try:
        with engine.connect() as connection, connection.begin():
            lock_region_roster(connection, region_id)
            yield
    finally:
        engine.dispose()


def _waiting_for_the_roster(stack, region_id):
    [row] = rows(stack, "issuance", ROSTER_LOCK_WAITERS, key=f"%issuance.roster:{region_id}%")
    return row["count"]


def _completed_run(operator, region_id, period):
    run = operator.request("GET", f"/v1/regions/{region_id}/issuance-runs/{period}",
                           expect=None)
    return run.json() if run.status_code == 200 and run.json()["status"] == "completed" else None


def _batches_logged(process, run_id):
    """The sizes of the batches of ``run_id`` this process granted, from its JSON log."""
    lines = [json.loads(line) for line in process.log_path.read_text().splitlines()]
    return [line["grants"] for line in lines
            if line["message"] == "tickets issued" and line.get("run_id") == run_id]


def _balanced(operator, region_id, period):
    accounts = operator.get(f"/v1/regions/{region_id}/accounts/{period}")
    return accounts if accounts["balanced"] else None


def _notices_complete(stack, region):
    """Per card household, the balances its organisation was told, once all have come."""
    notices = [body_text(message)
               for message in messages_to(stack.mail_dir, region.organisation["contact_email"])
               if CARD_NOTICE in str(message["Subject"])]
    told = {household["external_ref"]: sorted(
        int(balance.replace(",", ""))
        for notice in notices if f"管理番号 {household['external_ref']} " in notice
        for balance in re.findall(r"残高\s+([\d,]+)円", notice))
        for household in region.households}
    done = all(len(balances) >= PAID_PER_CARD for balances in told.values())
    return told if done else None


def _households(region):
    return ROSTER_HOUSEHOLDS + CARD_HOUSEHOLDS


def _ask_for_every_run_twice_at_once(operator, regions, period):
    """Both regions' runs, each asked for twice, all at the same moment."""
    answers = {region.region_id: [] for region in regions}
    asks = [region for region in regions for _ in range(2)]
    start = threading.Barrier(len(asks))

    def ask(region):
        caller = operator.as_(operator.token)  # a connection of its own
        start.wait()
        answer = caller.post(f"/v1/regions/{region.region_id}/issuance-runs",
                             {"period": str(period)})
        answers[region.region_id].append(answer)

    _run_all(ask, [(region,) for region in asks])
    return answers


def _present_every_card_at_once(regions):
    """Every card's bills, alternating between its region's two restaurants, all at once."""
    bills = [
        (region, region.restaurants[number % 2], household["card_number"])
        for region in regions
        for household in region.households
        for number in range(BILLS_PER_CARD)
    ]
    counters = {restaurant["id"]: region.counter(restaurant)
                for region in regions for restaurant in region.restaurants}
    answers = {card: [] for _, _, card in bills}
    start = threading.Barrier(len(bills))

    def present(restaurant, card):
        till = counters[restaurant["id"]]
        till = till.as_(till.token)  # a connection of its own
        start.wait()
        response = bill(till, restaurant, BILL_YEN, card_number=card)
        assert response.status_code == 200, response.text
        answers[card].append(response.json())

    _run_all(present, [(restaurant, card) for _, restaurant, card in bills])
    assert sum(len(card_answers) for card_answers in answers.values()) == len(bills)
    return answers


def _run_all(target, calls):
    """``target(*arguments)`` for each of ``calls``, each in a thread of its own, all waited
    for: a call that raised, or that never ended, fails the test instead of going unseen."""
    failures = []

    def call(*arguments):
        try:
            target(*arguments)
        except Exception as failure:  # noqa: BLE001 - every failure is reported below
            failures.append(failure)

    threads = [threading.Thread(target=call, args=arguments) for arguments in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [thread.name for thread in threads if thread.is_alive()] == []
    assert failures == []


def _balanced_accounts(operator, region, period):
    accounts = operator.get(f"/v1/regions/{region.region_id}/accounts/{period}")
    return accounts if accounts["balanced"] else None


def _facts_applied(process):
    return metric(process, "shokudo_events_applied_total", outcome="applied")
