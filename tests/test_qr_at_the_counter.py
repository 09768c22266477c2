"""A QR code that cannot pay, through the gateway on the real stack: each declined with its own
reason, and none takes a yen from the ticket.

    expired          a code past its two minutes (signed as redemption signs, exp gone by)
    tampered         a real code whose claims were changed, its signature kept
    another's        a code signed for one household naming another household's ticket

A code that paid and is shown again within its two minutes is declined as used; shown after
them, as expired (services/redemption/tests/test_redeem.py, on a clock of its own).
"""

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from regions import bill, open_region
from support import QR_SECRET, wait_until

REGION = "qr-ku"


@pytest.fixture(scope="module")
def counter(stack, gateway, operator):
    """Two app households with this month's tickets, and a restaurant's counter."""
    region = open_region(stack, gateway, operator, REGION)
    first, second = region.enrol(2, channel="app")
    region.issue_tickets()
    families = [region.family(household) for household in (first, second)]
    restaurant = region.restaurants[0]
    return {"region": region, "families": families, "restaurant": restaurant,
            "till": region.counter(restaurant)}


def fresh_code(family):
    return wait_until(lambda: _code(family), what="the app's QR code")


def _code(family):
    response = family.request("POST", "/v1/app/me/qr", expect=None)
    return response.json()["token"] if response.status_code == 200 else None


def claims_of(token):
    """What a code says, read without its secret (the counter's view of a stolen code)."""
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims):
    return jwt.encode(claims, QR_SECRET, algorithm="HS256")


def presented(counter, token):
    answer = bill(counter["till"], counter["restaurant"], 700, qr_token=token)
    assert answer.status_code == 200, answer.text
    return answer.json()


def balance(family):
    return family.get("/v1/app/me/ticket")["ticket"]["balance_yen"]


def test_an_expired_code_is_declined_as_expired(counter):
    family = counter["families"][0]
    issued_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    expired = signed({**claims_of(fresh_code(family)), "iat": int(issued_at.timestamp()),
                      "exp": int((issued_at + timedelta(minutes=2)).timestamp())})

    answer = presented(counter, expired)

    assert (answer["outcome"], answer["reason"]) == ("declined", "qr_token_expired")
    assert "有効期限" in answer["message_ja"] and "expired" in answer["message_en"]
    assert balance(family) == 3000


def test_a_tampered_code_is_declined_as_invalid(counter):
    first, second = counter["families"]
    header, _, signature = fresh_code(first).split(".")
    # The claims of the second household's code, under the first one's signature.
    _, claims, _ = fresh_code(second).split(".")

    answer = presented(counter, f"{header}.{claims}.{signature}")

    assert (answer["outcome"], answer["reason"]) == ("declined", "qr_token_invalid")
    assert balance(first) == balance(second) == 3000


def test_a_code_naming_another_household_s_ticket_is_declined_as_such(counter):
    first, second = counter["families"]
    neighbours = claims_of(fresh_code(second))
    borrowed = signed({**claims_of(fresh_code(first)), "tkt": neighbours["tkt"],
                       "per": neighbours["per"]})

    answer = presented(counter, borrowed)

    assert (answer["outcome"], answer["reason"]) == ("declined", "qr_token_wrong_household")
    assert balance(first) == balance(second) == 3000


def test_each_refusal_has_its_own_reason_and_a_good_code_still_pays(counter):
    family = counter["families"][0]

    paid = presented(counter, fresh_code(family))

    assert paid["outcome"] == "applied"
    assert balance(family) == 3000 - 700
