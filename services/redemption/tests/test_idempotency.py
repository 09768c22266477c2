"""A till's idempotency key at the counter: one payment per key, the first answer again."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from shokudo_common.errors import Conflict

from redemption.models import Redemption, Ticket

TOKYO = ZoneInfo("Asia/Tokyo")


def bill(restaurant_id, bill_yen, **way_to_pay):
    return {"restaurant_id": restaurant_id, "bill_yen": bill_yen, **way_to_pay}


def redemptions(session):
    return session.scalar(select(func.count(Redemption.id)))


@pytest.fixture
def restaurant(world):
    return world.restaurant()


def test_the_same_key_with_another_bill_is_refused_and_pays_nothing(
        service, world, restaurant, session):
    _, card, ticket_id = world.family_with_card()
    service.redeem(bill(restaurant, 1000, card_number=card, idempotency_key="till-7-0042"))

    with pytest.raises(Conflict) as raised:
        service.redeem(bill(restaurant, 1500, card_number=card, idempotency_key="till-7-0042"))

    assert raised.value.code == "idempotency_key_reused"
    assert "till-7-0042" in raised.value.details["idempotency_key"]
    assert session.get(Ticket, ticket_id).balance_yen == 2000
    assert redemptions(session) == 1


def test_the_same_key_at_two_restaurants_is_two_payments(service, world, session):
    first_restaurant, second_restaurant = world.restaurant(), world.restaurant(name="うみ亭")
    _, card, ticket_id = world.family_with_card()

    at_first = service.redeem(bill(first_restaurant, 1000, card_number=card,
                                   idempotency_key="0001"))
    at_second = service.redeem(bill(second_restaurant, 1000, card_number=card,
                                    idempotency_key="0001"))

    assert at_first["redemption_id"] != at_second["redemption_id"]
    assert session.get(Ticket, ticket_id).balance_yen == 1000


def test_a_declined_bill_keeps_no_answer_so_its_retry_is_judged_afresh(
        service, world, restaurant, session, clock):
    _, card, ticket_id = world.family_with_card()
    request = bill(restaurant, 800, card_number=card, idempotency_key="till-7-0044")
    clock.set(datetime(2026, 2, 28, 23, 59, tzinfo=TOKYO))  # a minute before the window

    declined = service.redeem(request)
    clock.set(datetime(2026, 3, 1, 0, 1, tzinfo=TOKYO))
    applied = service.redeem(request)

    assert declined["reason"] == "outside_validity_window"
    assert applied["outcome"] == "applied"
    assert session.get(Ticket, ticket_id).balance_yen == 2200


def test_a_retry_after_the_qr_code_expired_gets_the_first_answer(
        service, world, restaurant, session, clock):
    household_id = world.household()
    [ticket_id] = world.tickets([household_id])
    token = service.issue_qr_token(household_id)["token"]
    request = bill(restaurant, 1200, qr_token=token, idempotency_key="till-7-0045")

    first = service.redeem(request)
    clock.set(clock.moment + timedelta(minutes=30))  # the code lasts two minutes
    again = service.redeem(request)

    assert again == first and first["outcome"] == "applied"
    assert session.get(Ticket, ticket_id).balance_yen == 1800
    assert redemptions(session) == 1
