"""Each service scaled on its own: two replicas of issuance and two of redemption, separate
processes on one broker, share the work and keep every money rule.

Two regions are served at once. Their households reach issuance as enrollment's facts, which
both issuance replicas consume; each region's run is asked for twice at the same moment; the
tickets reach both redemption replicas; and every card then meets more bills at once than its
ticket can pay, from two restaurants. The books are read the way the operator reads them,
through the gateway's accounts check, not from the services' tables.
"""

import threading

import pytest

from regions import bill, enrol_on_the_roster, open_region
from support import current_period, metric, wait_until

REGIONS = ("scale-kita", "scale-minami")
ROSTER_HOUSEHOLDS = 600  # two batches of grants per region, beside the card households
CARD_HOUSEHOLDS = 4
BILLS_PER_CARD = 8
BILL_YEN = 500
TICKET_YEN = 3000
PAID_PER_CARD = TICKET_YEN // BILL_YEN


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
    facts_before = [_facts_applied(process) for process in issuance + redemption]

    for region in regions:
        enrol_on_the_roster(resilient_stack, resilient_operator, region.region_id,
                            ROSTER_HOUSEHOLDS, expected_total=_households(region))

    period, _ = current_period()
    runs = _ask_for_every_run_twice_at_once(resilient_operator, regions, period)

    # One run per region, whichever replica each of the two requests reached.
    for region in regions:
        answers = runs[region.region_id]
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

    # Both replicas of each service did part of the work.
    facts_applied = [_facts_applied(process) - before
                     for process, before in zip(issuance + redemption, facts_before)]
    assert all(count > 0 for count in facts_applied), facts_applied
    bills = [metric(process, "shokudo_redemptions_total") for process in redemption]
    assert all(count > 0 for count in bills), bills


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

    _run_all([threading.Thread(target=ask, args=(region,)) for region in asks])
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

    _run_all([threading.Thread(target=present, args=(restaurant, card))
              for _, restaurant, card in bills])
    assert sum(len(card_answers) for card_answers in answers.values()) == len(bills)
    return answers


def _run_all(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def _balanced_accounts(operator, region, period):
    accounts = operator.get(f"/v1/regions/{region.region_id}/accounts/{period}")
    return accounts if accounts["balanced"] else None


def _facts_applied(process):
    return metric(process, "shokudo_events_applied_total", outcome="applied")
