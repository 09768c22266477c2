"""Requests sent again change nothing twice: a till that lost its answer and sends the bill
again with the same Idempotency-Key pays once and hears the same answer, and an organisation
that imports the same spreadsheet twice creates nothing the second time."""

import threading

import pytest
import requests

from regions import bill, open_region
from support import rows, scalar, wait_until

LEDGER_OF_CARD = """
    SELECT redemptions.id FROM redemptions
      JOIN cards ON cards.household_id = redemptions.household_id
     WHERE cards.card_number = :card
"""
DEBITS_OF_CARD = f"SELECT count(*) FROM ({LEDGER_OF_CARD}) AS debits"
BALANCE = """
    SELECT tickets.balance_yen FROM tickets JOIN cards ON cards.household_id = tickets.household_id
     WHERE cards.card_number = :card AND tickets.valid_from <= now() AND tickets.valid_until > now()
"""


@pytest.fixture(scope="module")
def till(resilient_stack, resilient_gateway, resilient_operator):
    """A restaurant of region retry-ku, and two households with a ¥3,000 ticket on a card."""
    region = open_region(resilient_stack, resilient_gateway, resilient_operator, "retry-ku")
    region.enrol(2, channel="card")
    region.issue_tickets()
    return region


def test_a_bill_sent_again_after_its_answer_was_lost_is_paid_once(resilient_stack, till):
    restaurant = till.restaurants[0]
    counter = till.counter(restaurant)
    card = till.households[0]["card_number"]
    key = "till-1-receipt-0042"

    # The till sends the bill and stops listening before the answer comes back.
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{counter.base_url}/v1/restaurants/{restaurant['id']}/redemptions",
            json={"bill_yen": 1200, "card_number": card},
            headers={"Authorization": f"Bearer {counter.token}", "Idempotency-Key": key},
            timeout=(5, 0.001),
        )
    [debit] = wait_until(
        lambda: rows(resilient_stack, "redemption", LEDGER_OF_CARD, card=card),
        what="the first sending to be paid although its answer was lost",
    )

    again = bill(counter, restaurant, 1200, key=key, card_number=card)
    once_more = bill(counter, restaurant, 1200, key=key, card_number=card)

    assert again.status_code == 200
    answer = again.json()
    assert answer["outcome"] == "applied"
    assert answer["redemption_id"] == debit["id"]
    assert (answer["applied_yen"], answer["balance_yen"]) == (1200, 1800)
    assert once_more.json() == answer

    # The key belongs to that bill: another bill under it is refused, not paid.
    other_bill = bill(counter, restaurant, 500, key=key, card_number=card)
    assert other_bill.status_code == 409
    assert other_bill.json()["code"] == "idempotency_key_reused"

    assert scalar(resilient_stack, "redemption", DEBITS_OF_CARD, card=card) == 1
    assert scalar(resilient_stack, "redemption", BALANCE, card=card) == 1800


def test_two_sendings_of_one_bill_at_the_same_moment_pay_once(resilient_stack, till):
    restaurant = till.restaurants[0]
    counter = till.counter(restaurant)
    card = till.households[1]["card_number"]
    key = "till-2-receipt-0007"
    answers = []
    start = threading.Barrier(2)

    def send():
        own_connection = counter.as_(counter.token)
        start.wait()
        answers.append(bill(own_connection, restaurant, 700, key=key, card_number=card))

    sendings = [threading.Thread(target=send) for _ in range(2)]
    for sending in sendings:
        sending.start()
    for sending in sendings:
        sending.join(timeout=60)

    assert [answer.status_code for answer in answers] == [200, 200]
    first, second = (answer.json() for answer in answers)
    assert first == second
    assert (first["outcome"], first["applied_yen"], first["balance_yen"]) == ("applied", 700, 2300)
    assert scalar(resilient_stack, "redemption", DEBITS_OF_CARD, card=card) == 1
    assert scalar(resilient_stack, "redemption", BALANCE, card=card) == 2300


# -- the same spreadsheet twice ------------------------------------------------------------

HEADERS = "管理番号,保護者氏名,保護者氏名（フリガナ）,電話番号,メールアドレス,郵便番号,住所,子どもの人数,利用方法,言語"
LINES = [
    "S-001,山田 花子,ヤマダ ハナコ,090-1111-2222,hanako@example.jp,123-4567,シート区1-1-1,2,アプリ,日本語",
    "S-002,佐藤 健,サトウ ケン,090-3333-4444,,123-4568,シート区2-2-2,1,カード,日本語",
    "S-003,Smith Anna,スミス アンナ,,anna@example.com,123-4569,シート区3-3-3,3,アプリ,英語",
]
OUTBOX_ROWS = "SELECT count(*) FROM outbox"
HOUSEHOLD_ROWS = "SELECT count(*) FROM households WHERE organisation_id = :organisation"


def test_the_same_spreadsheet_imported_twice_creates_nothing_the_second_time(
        resilient_stack, resilient_gateway, resilient_operator):
    region = open_region(resilient_stack, resilient_gateway, resilient_operator, "sheet-ku",
                         restaurants=0)
    organisation = region.organisation["id"]
    spreadsheet = "\r\n".join([HEADERS, *LINES]).encode("cp932") + b"\r\n"

    def import_it():
        return region.staff.post(
            f"/v1/organisations/{organisation}/households/import?dry_run=false",
            data=spreadsheet, headers={"Content-Type": "text/csv"},
        )

    first = import_it()
    assert first["summary"]["created"] == len(LINES), first
    facts_before = scalar(resilient_stack, "enrollment", OUTBOX_ROWS)

    second = import_it()

    assert second["summary"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert [(row["line"], row["external_ref"], row["outcome"]) for row in second["rows"]] == [
        (row["line"], row["external_ref"], "unchanged") for row in first["rows"]
    ]
    assert [row["household_id"] for row in second["rows"]] == [
        row["household_id"] for row in first["rows"]
    ]
    # Nothing written, nothing announced: no new household, no new fact in the outbox.
    assert scalar(resilient_stack, "enrollment", HOUSEHOLD_ROWS,
                  organisation=organisation) == len(LINES)
    assert scalar(resilient_stack, "enrollment", OUTBOX_ROWS) == facts_before
