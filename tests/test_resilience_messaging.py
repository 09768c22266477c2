"""Facts between services: none lost when a publisher dies between its commit and the publish,
none applied twice when delivered twice, none dropped when its handler keeps failing.

Each test stops, kills or restarts single processes of the resilient stack and leaves them
running as they were, whatever happens.
"""

import json
import signal
import subprocess
import sys
from contextlib import suppress

import pytest

from regions import bill, open_region
from support import body_text, messages_to, metric, publish_facts, rows, scalar, wait_until

JOINED_FACT = """
    SELECT event_id, payload, published_at FROM outbox
     WHERE event_type = 'restaurant_joined' AND payload->>'restaurant_id' = :restaurant
"""
REDEEMED_FACT = """
    SELECT payload FROM outbox
     WHERE event_type = 'ticket_redeemed' AND payload->>'redemption_id' = :redemption
"""
APPLIED = "SELECT consumer FROM applied_events WHERE event_id = :event"
DELIVERIES = "SELECT count(*) FROM deliveries WHERE event_id = :event"
PARKED = """
    SELECT id, attempts, error, payload->>'event_id' AS event_id FROM parked_messages
     WHERE consumer = :consumer AND payload->>'redemption_id' = :redemption
       AND replayed_at IS NULL
"""
RECEIPTS_HANDLER = "notification.on_ticket_redeemed"


def start_again(stack, name):
    """Leave one process of ``name`` running, started with the stack's own settings."""
    with suppress(LookupError):
        stack.stop_component(name, sig=signal.SIGKILL)
    stack.wait_healthy(stack.start_component(name))


def receipts(stack, address):
    """Receipts (ticket_redeemed emails) the SMTP sink holds for ``address``."""
    return [message for message in messages_to(stack.mail_dir, address)
            if "Thank you for using your meal ticket" in body_text(message)]


def replicas_metric(processes, name, **labels):
    """``name`` summed over the replicas of a service: a fact reaches either one."""
    return sum(metric(process, name, **labels) for process in processes)


def applied_answer(response):
    answer = response.json()
    return answer if answer.get("outcome") == "applied" else None


# -- the outbox ----------------------------------------------------------------------------

def test_a_fact_committed_just_before_a_crash_is_published_after_restart(
        resilient_stack, resilient_gateway, resilient_operator):
    stack = resilient_stack
    region = open_region(stack, resilient_gateway, resilient_operator, "pause-ku",
                         restaurants=0)
    [household] = region.enrol(1, channel="card")
    region.issue_tickets()
    restaurant = region.nominate("pause-ku 新しい食堂")
    counter = region.counter(restaurant)
    card = household["card_number"]

    try:
        # The relay switched off holds directory at the moment after its commit.
        paused = stack.restart_component("directory", env={"OUTBOX_RELAY_ENABLED": "false"})
        assert metric(paused, "shokudo_outbox_relay_enabled", service="directory") == 0
        region.approve(restaurant)
        assert scalar(stack, "directory", "SELECT status FROM restaurants WHERE id = :id",
                      id=restaurant["id"]) == "active"
        declined = bill(counter, restaurant, 800, card_number=card).json()
        assert declined["reason"] == "restaurant_not_active"

        stack.stop_component("directory", sig=signal.SIGKILL)

        [fact] = rows(stack, "directory", JOINED_FACT, restaurant=restaurant["id"])
        assert fact["published_at"] is None
    finally:
        start_again(stack, "directory")

    answer = wait_until(
        lambda: applied_answer(bill(counter, restaurant, 800, card_number=card)),
        interval=0.2, what="redemption learning of the restaurant approved before the crash",
    )
    assert (answer["applied_yen"], answer["balance_yen"]) == (800, 2200)
    [fact] = rows(stack, "directory", JOINED_FACT, restaurant=restaurant["id"])
    assert fact["published_at"] is not None
    assert rows(stack, "redemption", APPLIED, event=fact["event_id"]) == [
        {"consumer": "redemption.on_restaurant_joined"}]


# -- applied once --------------------------------------------------------------------------

def test_a_fact_delivered_twice_is_applied_once(
        resilient_stack, resilient_gateway, resilient_operator):
    stack = resilient_stack
    address = "twice@example.jp"
    region = open_region(stack, resilient_gateway, resilient_operator, "twice-ku")
    [household] = region.enrol(1, channel="app", email=address)
    region.issue_tickets()
    restaurant = region.restaurants[0]
    token = region.family(household).post("/v1/app/me/qr")["token"]

    answer = bill(region.counter(restaurant), restaurant, 900, qr_token=token).json()
    assert answer["outcome"] == "applied"
    fact = wait_until(lambda: _receipt_sent(stack, answer["redemption_id"]),
                      what="notification applying the ticket_redeemed fact")
    # Sending is the delivery queue's timer's job, a moment after the fact is applied.
    wait_until(lambda: len(receipts(stack, address)) == 1, what="the receipt sent")

    notification = [stack.process("notification", replica) for replica in (0, 1)]
    duplicates = replicas_metric(notification, "shokudo_events_applied_total",
                                 consumer=RECEIPTS_HANDLER, outcome="duplicate")

    # The same fact, same event id, as a relay that died before marking it sent would repeat it.
    publish_facts(stack.amqp_uri, "redemption", "ticket_redeemed", [fact])

    wait_until(lambda: replicas_metric(notification, "shokudo_events_applied_total",
                                       consumer=RECEIPTS_HANDLER,
                                       outcome="duplicate") == duplicates + 1,
               what="the second delivery recognised by notification")
    assert len(receipts(stack, address)) == 1
    assert scalar(stack, "notification", DELIVERIES, event=fact["event_id"]) == 1


def _receipt_sent(stack, redemption_id):
    """The ticket_redeemed fact of ``redemption_id``, once notification has applied it."""
    found = rows(stack, "redemption", REDEEMED_FACT, redemption=redemption_id)
    if not found:
        return None
    fact = found[0]["payload"]
    applied = rows(stack, "notification", APPLIED, event=fact["event_id"])
    return fact if applied else None


# -- parked, then replayed -----------------------------------------------------------------

@pytest.fixture
def impatient_notification(resilient_stack):
    """Both notification replicas waiting 2 s for enrollment, so that retries end within
    seconds whichever replica the fact reaches."""
    replicas = [resilient_stack.restart_component("notification", replica,
                                                  env={"RPC_TIMEOUT_SECONDS": "2"})
                for replica in (0, 1)]
    yield replicas
    for replica in (0, 1):
        resilient_stack.restart_component("notification", replica)


def test_a_fact_whose_handler_keeps_failing_is_parked_and_a_replay_applies_it_once(
        resilient_stack, resilient_gateway, resilient_operator, impatient_notification):
    stack = resilient_stack
    address = "parked@example.jp"
    region = open_region(stack, resilient_gateway, resilient_operator, "park-ku")
    [household] = region.enrol(1, channel="app", email=address)
    region.issue_tickets()
    restaurant = region.restaurants[0]
    counter = region.counter(restaurant)
    token = region.family(household).post("/v1/app/me/qr")["token"]

    try:
        # Without enrollment, notification cannot learn where to send the receipt.
        stack.stop_component("enrollment", sig=signal.SIGKILL)
        answer = bill(counter, restaurant, 600, qr_token=token).json()
        assert answer["outcome"] == "applied"

        [parked] = wait_until(
            lambda: rows(stack, "notification", PARKED, consumer=RECEIPTS_HANDLER,
                         redemption=answer["redemption_id"]),
            timeout=60, what="the receipt's fact parked after its retries",
        )
        assert parked["attempts"] == 3 and "service_unavailable" in parked["error"]
        listed = [json.loads(line) for line in _parking(stack, "list").stdout.splitlines()]
        assert parked["id"] in [entry["id"] for entry in listed if entry["replayed_at"] is None]
        wait_until(lambda: replicas_metric(impatient_notification,
                                           "shokudo_messages_parked_total",
                                           consumer=RECEIPTS_HANDLER) == 1,
                   what="the parked message counted where operators watch")
        assert receipts(stack, address) == []
    finally:
        start_again(stack, "enrollment")

    assert _parking(stack, "replay", "--id", str(parked["id"])).returncode == 0
    wait_until(lambda: rows(stack, "notification", APPLIED, event=parked["event_id"]),
               what="the replayed fact applied")
    wait_until(lambda: len(receipts(stack, address)) == 1, what="the replayed receipt sent")
    assert scalar(stack, "notification", DELIVERIES, event=parked["event_id"]) == 1
    # Replayed once: the operator's second try finds nothing waiting.
    assert _parking(stack, "replay", "--id", str(parked["id"])).returncode == 1


def _parking(stack, *arguments):
    """The operator's command: ``python -m shokudo_common.parking``, on notification's books."""
    return subprocess.run(
        [sys.executable, "-m", "shokudo_common.parking", *arguments,
         "--db", stack.database_uri("notification"), "--amqp", stack.amqp_uri],
        capture_output=True, text=True, timeout=60, check=False,
    )
