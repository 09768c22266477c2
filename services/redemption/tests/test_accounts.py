"""Redemption's side of the accounts: yen on tickets = redeemed − voided + expired + open."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"


def pay(service, clock, moment, restaurant_id, card, bill_yen):
    clock.set(moment)
    return service.redeem({"restaurant_id": restaurant_id, "bill_yen": bill_yen,
                           "card_number": card})


@pytest.fixture
def month_of_meals(service, world, clock):
    """Three March tickets of ¥3,000: meals, a void, an expiry, and a ticket still open."""
    restaurant = world.restaurant()
    _, first, first_ticket = world.family_with_card()
    _, second, _ = world.family_with_card()
    _, third, _ = world.family_with_card()
    # Next month's ticket of another household: of another period, left out.
    world.tickets([world.household()], period="2026-03",
                  valid_from="2026-04-01T00:00:00+09:00",
                  valid_until="2026-05-01T00:00:00+09:00")

    pay(service, clock, datetime(2026, 3, 2, 12, 0, tzinfo=TOKYO), restaurant, first, 1000)
    wrong = pay(service, clock, datetime(2026, 3, 2, 12, 5, tzinfo=TOKYO), restaurant, first,
                700)
    service.void_redemption(restaurant, wrong["redemption_id"])
    pay(service, clock, datetime(2026, 3, 9, 18, 0, tzinfo=TOKYO), restaurant, second, 4500)
    pay(service, clock, datetime(2026, 3, 30, 12, 0, tzinfo=TOKYO), restaurant, third, 500)
    return {"first_ticket": first_ticket}


def test_the_accounts_balance_while_the_window_is_open(service, month_of_meals):
    accounts = service.ticket_accounts(REGION, "2026-02")

    assert accounts == {
        "region_id": REGION, "period": "2026-02", "tickets": 3, "yen_on_tickets": 9000,
        "redeemed_yen": 1000 + 700 + 3000 + 500, "voided_yen": 700, "expired_yen": 0,
        "open_yen": 2000 + 0 + 2500, "accounted_yen": 9000, "balanced": True,
        "tickets_out_of_balance": 0, "tickets_out_of_balance_ids": [],
    }


def test_the_accounts_balance_after_the_tickets_expire(service, month_of_meals, clock):
    clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO))
    service.expire_tickets()

    accounts = service.ticket_accounts(REGION, "2026-02")

    assert (accounts["expired_yen"], accounts["open_yen"]) == (4500, 0)
    assert (accounts["accounted_yen"], accounts["balanced"]) == (9000, True)
    assert service.ticket_accounts(REGION, "2026-03")["open_yen"] == 3000


@pytest.mark.parametrize("tampering", [
    # A redemption made smaller after the fact (the bill still adds up).
    "UPDATE redemptions SET applied_yen = applied_yen - 100,"
    " pay_at_counter_yen = pay_at_counter_yen + 100 WHERE ticket_id = :ticket_id"
    " AND applied_yen = 1000",
    # A void that gave back more than it says.
    "UPDATE tickets SET balance_yen = balance_yen + 100 WHERE id = :ticket_id",
    "UPDATE voids SET voided_yen = 600 WHERE ticket_id = :ticket_id",
])
def test_a_tampered_ledger_shows_as_a_difference_traced_to_its_ticket(
        service, month_of_meals, session, tampering):
    session.execute(text(tampering), {"ticket_id": month_of_meals["first_ticket"]})
    session.commit()

    accounts = service.ticket_accounts(REGION, "2026-02")

    assert accounts["balanced"] is False
    assert abs(accounts["yen_on_tickets"] - accounts["accounted_yen"]) == 100
    assert accounts["tickets_out_of_balance_ids"] == [month_of_meals["first_ticket"]]


def test_a_region_without_tickets_has_empty_balanced_accounts(service):
    accounts = service.ticket_accounts("umibe-shi", "2026-02")

    assert (accounts["tickets"], accounts["accounted_yen"], accounts["balanced"]) == (0, 0, True)
