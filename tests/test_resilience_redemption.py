"""No double spending: bills presented at the same moment on one ticket, by two restaurants,
through two replicas of the redemption service, never take more than the ticket holds.

The ticket's row lock makes the bills take turns; each sees what the one before left. The
ledger is read from the redemption service's own database, as an auditor would.
"""

import threading

import pytest

from regions import bill, open_region
from support import metric, rows, scalar

REGION = "race-ku"
BILLS = 20
BILL_YEN = 500
TICKET_YEN = 3000

LEDGER = """
    SELECT redemptions.id, redemptions.restaurant_id, redemptions.applied_yen,
           redemptions.balance_after_yen
      FROM redemptions JOIN cards ON cards.household_id = redemptions.household_id
     WHERE cards.card_number = :card
"""
BALANCE = """
    SELECT tickets.balance_yen FROM tickets JOIN cards ON cards.household_id = tickets.household_id
     WHERE cards.card_number = :card AND tickets.valid_from <= now() AND tickets.valid_until > now()
"""


@pytest.fixture(scope="module")
def race(resilient_stack, resilient_gateway, resilient_operator):
    """A ¥3,000 ticket on a card, and two restaurants of its region."""
    region = open_region(resilient_stack, resilient_gateway, resilient_operator, REGION,
                         restaurants=2)
    region.enrol(1, channel="card")
    region.issue_tickets()
    return region


def present_at_once(requests_to_send):
    """Send every ``(counter, restaurant, card)`` bill at the same moment, each on its own
    connection; returns ``(status, body)`` in the order given."""
    answers = [None] * len(requests_to_send)
    start = threading.Barrier(len(requests_to_send))

    def present(index, counter, restaurant, card):
        till = counter.as_(counter.token)  # a connection of its own
        start.wait()
        response = bill(till, restaurant, BILL_YEN, card_number=card)
        answers[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=present, args=(index, *request))
               for index, request in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_twenty_bills_at_once_on_one_ticket_pay_exactly_six(resilient_stack, race):
    card = race.households[0]["card_number"]
    counters = [race.counter(restaurant) for restaurant in race.restaurants]
    replicas = [resilient_stack.process("redemption", replica) for replica in (0, 1)]
    handled_before = [metric(replica, "shokudo_redemptions_total") for replica in replicas]

    answers = present_at_once([
        (counters[number % 2], race.restaurants[number % 2], card) for number in range(BILLS)
    ])

    # Every bill got a business answer: paid, or declined because nothing was left.
    assert [status for status, _ in answers] == [200] * BILLS, answers
    applied = [body for _, body in answers if body["outcome"] == "applied"]
    declined = [body for _, body in answers if body["outcome"] == "declined"]
    assert len(applied) == TICKET_YEN // BILL_YEN
    assert {body["applied_yen"] for body in applied} == {BILL_YEN}
    assert {body["reason"] for body in declined} == {"nothing_left"}

    # One debit after the other: the balance went 2,500, 2,000, … 0, never below.
    steps = list(range(TICKET_YEN - BILL_YEN, -1, -BILL_YEN))
    assert sorted((body["balance_yen"] for body in applied), reverse=True) == steps

    ledger = rows(resilient_stack, "redemption", LEDGER, card=card)
    assert sorted(line["id"] for line in ledger) == sorted(body["redemption_id"]
                                                           for body in applied)
    assert sorted((line["balance_after_yen"] for line in ledger), reverse=True) == steps
    assert sum(line["applied_yen"] for line in ledger) == TICKET_YEN
    assert scalar(resilient_stack, "redemption", BALANCE, card=card) == 0

    # Both replicas served bills.
    handled = [metric(replica, "shokudo_redemptions_total") - before
               for replica, before in zip(replicas, handled_before)]
    assert sum(handled) == BILLS
    assert all(count > 0 for count in handled), handled
