"""The books through the gateway: voids at the counter, closing a month, the settlement file and
the accounts check, each open only to its role."""

import pytest

from shokudo_common.errors import Conflict

HOUSEHOLD_FIELDS = {"household_id", "organisation_id"}
REDEMPTION = "a1b2c3d4-0000-4000-8000-00000000000a"
CALLERS = ("operator", "organisation_a", "restaurant", "household", None)


def paths(ids):
    restaurant = f"/v1/restaurants/{ids.restaurant}"
    return {
        "void": ("POST", f"{restaurant}/redemptions/{REDEMPTION}/void"),
        "close": ("POST", f"{restaurant}/statements/2026-03/close"),
        "settlement": ("GET", f"/v1/regions/{ids.region}/settlements/2026-03.csv"),
        "accounts": ("GET", f"/v1/regions/{ids.region}/accounts/2026-02"),
    }


@pytest.mark.parametrize("route, statuses", [
    ("void", (403, 403, 200, 403, 401)),
    ("close", (200, 403, 403, 403, 401)),
    ("settlement", (200, 403, 403, 403, 401)),
    ("accounts", (200, 403, 403, 403, 401)),
])
def test_each_route_of_the_books_serves_its_role_only(
        gateway, token_for, ids, route, statuses):
    method, path = paths(ids)[route]

    answered = [gateway.request(method, path, token=token_for(caller)).status_code
                for caller in CALLERS]

    assert answered == list(statuses)


# -- voids -----------------------------------------------------------------------------------


def test_a_void_reaches_redemption_with_the_scoped_key_and_tells_nothing_of_the_household(
        gateway, services, token_for, ids):
    method, path = paths(ids)["void"]

    response = gateway.request(method, path, token=token_for("restaurant"),
                               headers={"Idempotency-Key": "till-7-void-1"})

    assert response.status_code == 200
    assert response.json() == {
        "outcome": "voided", "redemption_id": REDEMPTION, "void_id": "v-1", "voided_yen": 1200,
        "balance_yen": 3000, "at": "2026-03-05T12:05:00+09:00"}
    [(_, args, options)] = services.redemption.called("void_redemption")
    assert args == (ids.restaurant, REDEMPTION)
    assert options == {"idempotency_key": f"restaurant:{ids.restaurant}:till-7-void-1"}


def test_another_restaurants_void_never_reaches_redemption(gateway, services, token_for, ids):
    response = gateway.post(f"/v1/restaurants/{ids.other_restaurant}/redemptions/"
                            f"{REDEMPTION}/void", token=token_for("restaurant"))

    assert response.status_code == 404
    assert services.redemption.called("void_redemption") == []


def test_a_malformed_redemption_id_is_the_unknown_id_404(gateway, services, token_for, ids):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions/r-1/void",
                            token=token_for("restaurant"))

    assert response.status_code == 404
    assert response.json()["code"] == "redemption_not_found"


@pytest.mark.parametrize("code", ["already_voided", "void_window_closed", "statement_closed"])
def test_a_refused_void_is_a_409_with_its_code(gateway, services, token_for, ids, code):
    services.redemption.failure = Conflict(code, "refused", {"redemption_id": REDEMPTION})
    method, path = paths(ids)["void"]

    response = gateway.request(method, path, token=token_for("restaurant"))

    assert response.status_code == 409
    assert response.json()["code"] == code


# -- statements and settlement ---------------------------------------------------------------


def test_closing_a_month_answers_the_closed_statement(gateway, services, token_for, ids):
    method, path = paths(ids)["close"]

    response = gateway.request(method, path, token=token_for("operator"))

    assert response.status_code == 200
    assert response.json()["closed_by"] == "operator"
    assert services.redemption.called("close_statement") == [
        ("close_statement", (ids.restaurant, "2026-03"), {})]


def test_the_settlement_is_a_csv_file_with_its_byte_order_mark(gateway, services, token_for,
                                                                 ids):
    method, path = paths(ids)["settlement"]

    response = gateway.request(method, path, token=token_for("operator"))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "settlement-hoshizora-ku-2026-03.csv" in response.headers["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbfrestaurant_id,")
    assert "みどり食堂" in response.content.decode("utf-8-sig")
    assert services.redemption.called("settlement_csv") == [
        ("settlement_csv", (ids.region, "2026-03"), {})]


def test_a_bad_month_in_the_file_name_is_refused(gateway, token_for, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/settlements/2026-13.csv",
                           token=token_for("operator"))

    assert response.status_code == 422


# -- accounts --------------------------------------------------------------------------------


def test_accounts_that_agree_are_balanced_with_every_figure(gateway, token_for, ids):
    method, path = paths(ids)["accounts"]

    answer = gateway.request(method, path, token=token_for("operator")).json()

    assert (answer["balanced"], answer["differences"]) == (True, [])
    assert answer["issuance"]["yen_granted"] == 6000
    assert answer["redemption"]["expired_yen"] == 1000


def test_every_difference_between_the_ledgers_is_reported(gateway, services, token_for, ids):
    services.redemption.accounts = dict(
        services.redemption.accounts, tickets=1, yen_on_tickets=3000, redeemed_yen=2400,
        tickets_out_of_balance=1, tickets_out_of_balance_ids=["t-1"])
    method, path = paths(ids)["accounts"]

    answer = gateway.request(method, path, token=token_for("operator")).json()

    assert answer["balanced"] is False
    assert answer["differences"] == [
        {"check": "tickets_match_grants", "expected": {"grants": 2},
         "actual": {"tickets": 1}, "difference": -1},
        {"check": "yen_on_tickets_match_yen_granted", "expected": {"yen_granted": 6000},
         "actual": {"yen_on_tickets": 3000}, "difference": -3000},
        {"check": "yen_granted_accounted_for", "expected": {"yen_granted": 6000},
         "actual": {"redeemed_yen - voided_yen + expired_yen + open_yen": 5900},
         "difference": -100},
        {"check": "each_ticket_accounted_for", "tickets": 1, "ticket_ids": ["t-1"]},
    ]
