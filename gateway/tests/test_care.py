"""Usage, concerns, moves, the counter's day and the family's ticket, through the gateway.

The fakes' care methods are in care_fakes.py (as contracts.md describes them), each answer
carrying fields a careless gateway would pass on.
"""

import pytest

from shokudo_common import vocabulary

from care_fakes import CONCERN

HOUSEHOLD_FIELDS = {"household_id", "external_ref", "guardian_name", "organisation_id", "note"}
REDEMPTION = "abababab-0000-4000-8000-0000000000ab"


def keys_in(value):
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value)) if value else set()
    return set()


@pytest.fixture
def care(services, ids):
    """The fakes as they are (care_fakes.py), with the family's app answering in full."""
    enrollment, redemption = services.enrollment, services.redemption
    enrollment.households[ids.household_a]["external_ref"] = "A-001"

    def get_balance(household_id):
        redemption.record("get_balance", household_id)
        window = {"ticket_id": "t-1", "period": "2026-02", "amount_yen": 3000,
                  "balance_yen": 1800, "time_zone": "Asia/Tokyo",
                  "valid_from": "2026-03-01T00:00:00+09:00",
                  "valid_until": "2026-04-01T00:00:00+09:00", "first_day": "2026-03-01",
                  "last_day": "2026-03-31", "organisation_id": ids.organisation_a}
        return {"household_id": household_id, "has_usable_ticket": True, "balance_yen": 1800,
                "last_day": "2026-03-31", "ticket": window, "next_ticket": None}

    def history(household_id):
        redemption.record("history", household_id)
        return {"household_id": household_id, "redemptions": [{
            "redemption_id": REDEMPTION, "at": "2026-03-10T12:00:00+09:00",
            "local_date": "2026-03-10", "restaurant_id": ids.restaurant,
            "restaurant_name": "みどり食堂", "bill_yen": 1500, "applied_yen": 1200,
            "pay_at_counter_yen": 300, "balance_yen": 1800, "voided": False,
            "voided_at": None, "organisation_id": ids.organisation_a}]}

    redemption.get_balance, redemption.history = get_balance, history
    return services


# -- usage ----------------------------------------------------------------------------------

def test_usage_is_asked_in_the_organisations_region_and_names_households_by_reference(
        gateway, care, token_for, ids):
    response = gateway.get(f"/v1/organisations/{ids.organisation_a}/usage?reach_out=true",
                           token=token_for("organisation_a"))

    assert response.status_code == 200
    [(_, args, kwargs)] = care.redemption.called("organisation_usage")
    assert args == (ids.organisation_a, ids.region)
    assert kwargs == {"period": None, "reach_out_only": True}
    [line] = response.json()["households"]
    assert (line["external_ref"], line["reach_out"]) == ("A-001", True)
    assert dict(care.enrollment.accessors)["list_households"]["purpose"] == "usage_review"
    assert "card_number" not in line


def test_usage_refuses_a_malformed_period_and_another_organisations_staff(
        gateway, care, token_for, ids):
    bad = gateway.get(f"/v1/organisations/{ids.organisation_a}/usage?period=March",
                      token=token_for("organisation_a"))
    other = gateway.get(f"/v1/organisations/{ids.organisation_a}/usage",
                        token=token_for("organisation_b"))

    assert bad.status_code == 422
    assert other.status_code == 404
    assert care.redemption.called("organisation_usage") == []


# -- concerns -------------------------------------------------------------------------------

def test_a_restaurant_raises_a_concern_and_learns_nothing_of_the_household(
        gateway, care, token_for, ids):
    response = gateway.post(
        f"/v1/restaurants/{ids.restaurant}/redemptions/{REDEMPTION}/concerns",
        token=token_for("restaurant"), json={"category": "mood", "note": " 元気がない "})

    assert response.status_code == 201
    assert response.json() == {"concern_id": CONCERN, "redemption_id": REDEMPTION,
                               "category": "mood", "status": "open",
                               "category_label": {"ja": "気分・様子", "en": "Mood"},
                               "raised_at": "2026-03-10T12:00:00+09:00"}
    assert not keys_in(response.json()) & HOUSEHOLD_FIELDS
    [(_, args, kwargs)] = care.redemption.called("raise_concern")
    assert args == (ids.restaurant, REDEMPTION, "mood", "元気がない")
    assert kwargs["idempotency_key"].startswith(f"restaurant:{ids.restaurant}:")


def test_a_concern_needs_a_known_category_and_a_short_enough_note(
        gateway, care, token_for, ids):
    response = gateway.post(
        f"/v1/restaurants/{ids.restaurant}/redemptions/{REDEMPTION}/concerns",
        token=token_for("restaurant"), json={"category": "gossip", "note": "あ" * 1001})

    assert response.status_code == 422
    assert set(response.json()["details"]["fields"]) == {"category", "note"}
    assert care.redemption.called("raise_concern") == []


def test_the_restaurants_list_of_concerns_carries_status_only(gateway, care, token_for, ids):
    response = gateway.get(f"/v1/restaurants/{ids.restaurant}/concerns",
                           token=token_for("restaurant"))

    assert response.status_code == 200
    assert not keys_in(response.json()) & HOUSEHOLD_FIELDS
    assert "山田" not in response.text and "元気" not in response.text
    assert response.json()[0]["status"] == "open"


def test_the_organisation_lists_and_acknowledges_its_concerns_and_another_gets_404(
        gateway, care, token_for, ids):
    listed = gateway.get(f"/v1/organisations/{ids.organisation_a}/concerns?status=open",
                         token=token_for("organisation_a"))
    seen = gateway.post(
        f"/v1/organisations/{ids.organisation_a}/concerns/{CONCERN}/acknowledge",
        token=token_for("organisation_a"))
    elsewhere = gateway.post(
        f"/v1/organisations/{ids.organisation_b}/concerns/{CONCERN}/acknowledge",
        token=token_for("organisation_b"))
    malformed = gateway.post(
        f"/v1/organisations/{ids.organisation_a}/concerns/not-an-id/acknowledge",
        token=token_for("organisation_a"))

    assert listed.status_code == 200
    assert listed.json()[0]["household_id"] == ids.household_a
    # The code, and the words the staff read for it.
    category = listed.json()[0]["category"]
    assert listed.json()[0]["category_label"] == vocabulary.concern_category_label(category)
    assert listed.json()[0]["category_label"]["ja"] != category
    assert listed.json()[0]["restaurant_name"] == "みどり食堂"
    assert dict(care.enrollment.accessors)["list_concerns"]["purpose"] == "concern_review"
    assert "guardian_name" not in listed.json()[0]
    assert seen.status_code == 200 and seen.json()["status"] == "acknowledged"
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "concern_not_found"
    assert malformed.status_code == 404


# -- moves ----------------------------------------------------------------------------------

def test_the_current_organisation_moves_its_household_with_a_scoped_key(
        gateway, care, token_for, ids):
    response = gateway.post(
        f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}/move",
        token=token_for("organisation_a"), json={"to_organisation_id": ids.organisation_b},
        headers={"Idempotency-Key": "move-1"})

    assert response.status_code == 200
    assert response.json()["organisation_id"] == ids.organisation_b
    [(_, args, kwargs)] = care.enrollment.called("move_household")
    assert args == (ids.organisation_a, ids.household_a, ids.organisation_b)
    assert kwargs == {"idempotency_key": f"organisation:{ids.organisation_a}:move-1"}
    assert dict(care.enrollment.accessors)["move_household"] == {
        "actor": f"organisation:{ids.organisation_a}:{ids.account['organisation_a']}",
        "purpose": "household_move",
        "reason": None}


def test_a_move_needs_a_target_and_another_organisation_cannot_move_the_household(
        gateway, care, token_for, ids):
    path = f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}/move"

    no_target = gateway.post(path, token=token_for("organisation_a"), json={})
    not_theirs = gateway.post(path, token=token_for("organisation_b"),
                              json={"to_organisation_id": ids.organisation_b})
    by_operator = gateway.post(path, token=token_for("operator"),
                               json={"to_organisation_id": ids.organisation_b})

    assert no_target.status_code == 422
    assert not_theirs.status_code == 404
    assert by_operator.status_code == 200


# -- the counter's day ----------------------------------------------------------------------

def test_the_counters_day_shows_times_and_money_only(gateway, care, token_for, ids):
    response = gateway.get(f"/v1/restaurants/{ids.restaurant}/redemptions?date=2026-03-09",
                           token=token_for("restaurant"))
    today = gateway.get(f"/v1/restaurants/{ids.restaurant}/redemptions",
                        token=token_for("restaurant"))
    bad = gateway.get(f"/v1/restaurants/{ids.restaurant}/redemptions?date=yesterday",
                      token=token_for("restaurant"))

    assert response.status_code == 200 and today.status_code == 200
    assert [call[1] for call in care.redemption.called("restaurant_day")] == [
        (ids.restaurant, "2026-03-09"), (ids.restaurant, None)]
    assert not keys_in(response.json()) & HOUSEHOLD_FIELDS
    assert response.json()["lines"][0]["voided"] is False
    assert bad.status_code == 422


# -- the family's app -----------------------------------------------------------------------

def test_the_app_shows_yen_left_the_last_day_and_each_meal(gateway, care, token_for):
    ticket = gateway.get("/v1/app/me/ticket", token=token_for("household")).json()
    history = gateway.get("/v1/app/me/history", token=token_for("household")).json()

    assert (ticket["balance_yen"], ticket["last_day"]) == (1800, "2026-03-31")
    assert "organisation_id" not in ticket["ticket"]
    [meal] = history["redemptions"]
    assert (meal["restaurant_name"], meal["local_date"], meal["applied_yen"]) == (
        "みどり食堂", "2026-03-10", 1200)
    assert "organisation_id" not in meal


# -- who reaches what -----------------------------------------------------------------------

CALLERS = ("operator", "organisation_a", "organisation_b", "restaurant", "household", None)


def test_each_role_reaches_exactly_the_care_routes_meant_for_it(gateway, care, token_for, ids):
    org_a = f"/v1/organisations/{ids.organisation_a}"
    restaurant = f"/v1/restaurants/{ids.restaurant}"
    table = [
        ("GET", f"{org_a}/usage", None, (200, 200, 404, 403, 403, 401)),
        ("GET", f"{org_a}/concerns", None, (200, 200, 404, 403, 403, 401)),
        ("POST", f"{org_a}/concerns/{CONCERN}/acknowledge", None,
         (200, 200, 404, 403, 403, 401)),
        ("GET", f"{restaurant}/redemptions", None, (200, 403, 403, 200, 403, 401)),
        ("GET", f"{restaurant}/concerns", None, (200, 403, 403, 200, 403, 401)),
        ("POST", f"{restaurant}/redemptions/{REDEMPTION}/concerns",
         {"category": "safety", "note": "夜遅くに一人でした"}, (403, 403, 403, 201, 403, 401)),
        ("GET", "/v1/app/me/history", None, (403, 403, 403, 403, 200, 401)),
    ]

    answered, expected = {}, {}
    for method, path, body, statuses in table:
        for caller, status in zip(CALLERS, statuses):
            response = gateway.request(method, path, token=token_for(caller), json=body)
            answered[(method, path, caller)] = response.status_code
            expected[(method, path, caller)] = status

    assert answered == expected


def test_the_app_registers_its_device_for_push_messages_under_its_own_household(
        gateway, care, token_for, ids):
    response = gateway.post("/v1/app/me/push-token", token=token_for("household"),
                            json={"token": "fcm:abc123", "platform": "android"})
    refused = gateway.post("/v1/app/me/push-token", token=token_for("household"),
                           json={"token": "has a space", "platform": "windows",
                                 "household_id": ids.household_a})

    assert response.status_code == 200
    assert response.json()["platform"] == "android" and "token" not in response.json()
    [(_, args, _)] = care.notification.called("register_push_token")
    assert args == (ids.household_a, "fcm:abc123", "android")
    assert refused.status_code == 422
    assert set(refused.json()["details"]["fields"]) == {"token", "platform", "household_id"}
