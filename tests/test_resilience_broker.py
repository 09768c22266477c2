"""RabbitMQ restarted in the middle of a day at the counter: the services find the broker again
by themselves, and every bill answered as paid is in the ledger once.

The stack runs on a RabbitMQ node of its own (see conftest.py), stopped with ``rabbitmqctl
stop_app`` and started again with ``start_app`` while a till keeps presenting bills. The till
does what a till must: a bill that got no answer (an error status, a dropped connection) is
sent again with the same Idempotency-Key until it is answered.

The last tests catch one bill inside redemption at the very moment the broker stops: its
answer is lost, the replica must stay up, and the request RabbitMQ delivers again must not pay
twice, with the till's key or with the one the gateway gives a request that came without.
"""

import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import create_engine, text

from shokudo_common.client import GatewayClient

from regions import bill, open_region
from support import metric, rows, scalar, signed_in, wait_until

REGION = "storm-ku"
BILL_YEN = 100
CARDS = 4

LEDGER = "SELECT id FROM redemptions WHERE region_id = :region"
BALANCES = "SELECT sum(amount_yen - balance_yen) FROM tickets WHERE region_id = :region"
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
TICKET_OF_CARD = """
    SELECT tickets.id FROM tickets JOIN cards ON cards.household_id = tickets.household_id
     WHERE cards.card_number = :card AND tickets.valid_from <= now() AND tickets.valid_until > now()
"""
DEBITS_OF_CARD = """
    SELECT redemptions.id FROM redemptions
      JOIN cards ON cards.household_id = redemptions.household_id
     WHERE cards.card_number = :card
"""
WAITING_ON_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock'
"""
# What a till may meet besides an answer, other than a 503 that says to try again.
CONNECTION_ERRORS = {"ConnectionError", "ReadTimeout", "ConnectTimeout"}


@dataclass
class Till:
    """Presents a bill about every 0.1 s, each sent again with its own key until answered."""

    counter: GatewayClient
    restaurant: dict
    cards: list
    answers: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread = None

    def start(self):
        self.thread = threading.Thread(target=self._present_bills)
        self.thread.start()

    def finish(self):
        """Stop after the bill in hand is answered."""
        self.stopping.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the last bill was never answered"

    def answered(self):
        return len(self.answers)

    def _present_bills(self):
        number = 0
        while not self.stopping.is_set():
            key = f"storm-till-{number:04d}"
            self.answers[key] = self._until_answered(key, self.cards[number % len(self.cards)])
            number += 1
            self.stopping.wait(0.1)  # the pace of a busy counter, not a wait for anything

    def _until_answered(self, key, card):
        while True:
            try:
                response = bill(self.counter, self.restaurant, BILL_YEN, key=key,
                                card_number=card)
                if response.status_code == 200:
                    return response.json()
                self.failures.append((response.status_code,
                                      response.headers.get("Retry-After")))
            except requests.RequestException as error:
                self.failures.append((type(error).__name__, None))
            # The gateway's Retry-After says 5 s; a till at a counter tries again sooner.
            time.sleep(0.2)


@pytest.fixture(scope="module")
def storm(broker_stack, private_rabbit):
    """A till presenting bills while RabbitMQ stops and starts; returns it when it is done.

    The broker stays down until the till has seen two bills fail, so that bills were sent
    while nothing could carry them to the redemption service.
    """
    gateway = GatewayClient(broker_stack.gateway_url, timeout=10)
    operator = signed_in(broker_stack, gateway, "operator")
    region = open_region(broker_stack, gateway, operator, REGION)
    region.enrol(CARDS, channel="card")
    region.issue_tickets()
    till = Till(region.counter(region.restaurants[0]), region.restaurants[0],
                [household["card_number"] for household in region.households])

    till.start()
    try:
        wait_until(lambda: till.answered() >= 5, what="the till's first bills answered")
        private_rabbit.stop_app()
        try:
            wait_until(lambda: len(till.failures) >= 2, timeout=60,
                       what="bills caught by the outage")
        finally:
            private_rabbit.start_app()
        answered_at_restart = till.answered()
        wait_until(lambda: till.answered() >= answered_at_restart + 5, timeout=90,
                   what="bills answered again after the broker came back")
    finally:
        till.finish()
    return till


def test_every_bill_answered_as_paid_through_a_broker_restart_is_in_the_ledger_once(
        broker_stack, storm):
    applied = {key: answer for key, answer in storm.answers.items()
               if answer["outcome"] == "applied"}
    assert len(applied) == len(storm.answers), "every bill fits on the tickets"

    # Each bill answered as paid is in the ledger once, and nothing else is: no bill sent
    # again after the outage was paid twice.
    ledger = rows(broker_stack, "redemption", LEDGER, region=REGION)
    assert sorted(line["id"] for line in ledger) == sorted(
        answer["redemption_id"] for answer in applied.values())
    assert scalar(broker_stack, "redemption", BALANCES, region=REGION) == \
        BILL_YEN * len(applied)

    # And every fact of those bills left the outbox once the broker was back.
    wait_until(lambda: scalar(broker_stack, "redemption", UNPUBLISHED) == 0,
               what="redemption's outbox relayed after the restart")


def test_a_bill_caught_by_the_outage_is_answered_503_with_a_retry_hint(storm):
    unexpected = [(status, retry_after) for status, retry_after in storm.failures
                  if not (status == 503 and retry_after) and status not in CONNECTION_ERRORS]
    assert storm.failures and not unexpected, storm.failures


# -- a bill in the hands of redemption when the broker goes ---------------------------------

@pytest.fixture
def caught_bill(broker_stack, private_rabbit, storm):
    """Present one bill so that redemption holds it at the very moment the broker stops.

    The test locks the bill's ticket first, as a bill at another counter would, so the bill
    waits inside redemption; the broker stops; the lock goes, the bill is paid, and its answer
    has no broker to go through. Returns ``catch(key)`` → (outcome, card, debits before):
    outcome "served" when the replica finished the call, "killed" when the failed answer took
    the replica down (the replica is then replaced, as an orchestrator would).
    """
    card = storm.cards[0]
    engine = create_engine(broker_stack.database_uri("redemption"))

    def catch(key):
        redemption = broker_stack.process("redemption")
        served_before = _redeem_calls_served(redemption)
        debits_before = _debits(broker_stack, card)
        with engine.connect() as connection, connection.begin() as lock:
            ticket_id = connection.execute(text(TICKET_OF_CARD), {"card": card}).scalar_one()
            connection.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"),
                               {"id": ticket_id})
            sending = threading.Thread(target=lambda: _send_once(storm, key, card))
            sending.start()
            wait_until(lambda: scalar(broker_stack, "redemption", WAITING_ON_A_LOCK) >= 1,
                       what="the bill waiting inside redemption for the ticket's lock")
            private_rabbit.stop_app()
            lock.rollback()
        try:
            outcome = wait_until(lambda: _served_or_killed(redemption, served_before),
                                 timeout=30, what="the replica done with the bill")
        finally:
            private_rabbit.start_app()
            sending.join(timeout=30)
        if outcome != "served":
            _replace(broker_stack, redemption)
        return outcome, card, debits_before

    yield catch
    engine.dispose()


def test_a_replica_answering_when_the_broker_goes_away_stays_up(broker_stack, storm,
                                                                caught_bill):
    key = "storm-caught-0001"

    outcome, card, debits_before = caught_bill(key)

    assert outcome == "served", "the redemption replica was killed when its answer was lost"
    answer = wait_until(lambda: _answered(storm, key, card), timeout=60,
                        what="the bill answered once the broker is back")
    assert _debits(broker_stack, card) - debits_before == {answer["redemption_id"]}


def test_a_bill_without_a_key_caught_by_the_outage_is_paid_once(
        broker_stack, private_rabbit, caught_bill):
    _, card, debits_before = caught_bill(None)

    # Whatever the broker kept for redemption has been delivered, answered and acknowledged.
    wait_until(lambda: private_rabbit.queue_depth("rpc-redemption") == (0, 0),
               what="redemption's request queue drained")
    assert len(_debits(broker_stack, card) - debits_before) == 1


def _send_once(till, key, card):
    """One sending whose answer is not awaited beyond the gateway's own timeout."""
    try:
        bill(till.counter, till.restaurant, BILL_YEN, key=key, card_number=card)
    except requests.RequestException:
        pass  # the test reads the outcome from the ledger and the replica, not from here


def _redeem_calls_served(process):
    """redeem calls the process finished, answer sent (nameko-prometheus counts them then)."""
    return metric(process, "redemption_rpc_requests_total", method_name="redeem")


def _served_or_killed(process, served_before):
    if process.popen.poll() is not None:
        return "killed"
    try:
        served = _redeem_calls_served(process)
    except requests.HTTPError as refused:
        # nameko answers every request of a container it is killing with ContainerBeingKilled.
        return "killed" if "ContainerBeingKilled" in refused.response.text else None
    return "served" if served > served_before else None


def _debits(stack, card):
    return {line["id"] for line in rows(stack, "redemption", DEBITS_OF_CARD, card=card)}


def _answered(till, key, card):
    response = bill(till.counter, till.restaurant, BILL_YEN, key=key, card_number=card)
    return response.json() if response.status_code == 200 else None


def _replace(stack, process):
    """A new process in place of one that is dying or gone."""
    if process.popen.poll() is None:
        process.kill()
    stack.processes.remove(process)
    stack.wait_healthy(stack.start_component(process.component.name, process.replica))
