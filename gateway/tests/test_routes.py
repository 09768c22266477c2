"""What each kind of route hands to the services and what it lets back out."""

import base64

import pytest

from request_keys import GENERATED_KEY

HOUSEHOLD_FIELDS = {"household_id", "household_ids", "organisation_id", "guardian_name",
                    "card_number"}
CARD = "4539-5787-6362-1486"


def keys_in(value):
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value)) if value else set()
    return set()


# -- restaurants ------------------------------------------------------------------------------

def test_an_applied_redemption_tells_the_counter_the_money_and_nothing_about_the_household(
        gateway, services, token_for, ids):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": 1200, "card_number": CARD})

    assert response.status_code == 200
    assert response.json() == {
        "outcome": "applied", "redemption_id": "r-1", "bill_yen": 1200, "applied_yen": 1200,
        "pay_at_counter_yen": 0, "balance_yen": 1800,
        "valid_until": "2026-04-01T00:00:00+09:00",
        "message_ja": "1,200円をチケットで支払いました", "message_en": "1,200 yen paid",
    }
    [(_, (sent,), _)] = services.redemption.called("redeem")
    assert sent == {"restaurant_id": ids.restaurant, "bill_yen": 1200,
                    "card_number": "4539578763621486", "idempotency_key": GENERATED_KEY}


def test_a_declined_redemption_is_an_answer_not_an_error(gateway, services, token_for, ids):
    services.redemption.answer = {
        "outcome": "declined", "reason": "nothing_left", "message_ja": "残高がありません",
        "message_en": "Nothing is left on this ticket", "household_id": ids.household_a,
        "guardian_name": "山田 花子",
    }

    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": 500, "qr_token": "signed-token"})

    assert response.status_code == 200
    assert response.json()["reason"] == "nothing_left"
    assert not keys_in(response.json()) & HOUSEHOLD_FIELDS
    assert "山田" not in response.text


def test_a_statement_lists_redemptions_without_any_household(gateway, token_for, ids):
    response = gateway.get(f"/v1/restaurants/{ids.restaurant}/statements/2026-03",
                           token=token_for("restaurant"))

    assert response.status_code == 200
    assert response.json()["total_yen"] == 1200
    assert response.json()["lines"] == [
        {"redemption_id": "r-1", "at": "2026-03-05T12:00:00+09:00", "local_date": "2026-03-05",
         "bill_yen": 1500, "applied_yen": 1200, "pay_at_counter_yen": 300}]
    assert not keys_in(response.json()) & HOUSEHOLD_FIELDS


@pytest.mark.parametrize("ticket", [
    {},
    {"card_number": CARD, "qr_token": "signed-token"},
    {"card_number": "4539-5787-6362"},          # a group left out
])
def test_a_redemption_names_exactly_one_well_formed_card_or_qr_code(
        gateway, services, token_for, ids, ticket):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"), json={"bill_yen": 500, **ticket})

    assert response.status_code == 422
    assert set(response.json()["details"]["fields"]) == {"card_number"}
    assert services.redemption.calls == []


def test_the_public_list_shows_active_restaurants_with_public_fields_only(
        gateway, services, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/restaurants")

    assert response.status_code == 200
    assert services.directory.called("list_restaurants") == [
        ("list_restaurants", (ids.region,), {"status": "active", "organisation_id": None})]
    [first, _] = response.json()
    assert first["name"] == "みどり食堂"
    assert not set(first) & {"organisation_id", "status", "status_reason", "created_at"}


# -- organisations ----------------------------------------------------------------------------

SPREADSHEET = "管理番号,保護者氏名,フリガナ\r\nA-001,山田 花子,ヤマダ ハナコ\r\n".encode("shift_jis")


@pytest.mark.parametrize("content_type, body", [
    ("text/csv; charset=Shift_JIS", SPREADSHEET),
    ("application/octet-stream", SPREADSHEET),
    ("text/csv", iter([SPREADSHEET[:7], SPREADSHEET[7:]])),   # chunked, cut mid-character
])
def test_a_spreadsheet_export_reaches_enrollment_byte_for_byte(
        gateway, services, token_for, ids, content_type, body):
    response = gateway.post(
        f"/v1/organisations/{ids.organisation_a}/households/import?dry_run=true",
        token=token_for("organisation_a"), data=body, headers={"Content-Type": content_type},
    )

    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    [(_, (organisation_id, encoded), options)] = services.enrollment.called("import_households")
    assert organisation_id == ids.organisation_a
    assert base64.b64decode(encoded) == SPREADSHEET
    assert options == {"dry_run": True, "idempotency_key": GENERATED_KEY}


def test_an_import_without_dry_run_applies_and_an_empty_file_is_refused(
        gateway, services, token_for, ids):
    path = f"/v1/organisations/{ids.organisation_a}/households/import"
    token = token_for("organisation_a")

    csv = {"Content-Type": "text/csv"}
    applied = gateway.post(path, token=token, data=b"A-001\r\n", headers=csv)
    empty = gateway.post(path, token=token, data=b"", headers=csv)
    unclear = gateway.post(path + "?dry_run=perhaps", token=token, data=b"A-001\r\n",
                           headers=csv)

    assert applied.status_code == 200
    assert services.enrollment.called("import_households")[0][2] == {
        "dry_run": False, "idempotency_key": GENERATED_KEY}
    assert (empty.status_code, unclear.status_code) == (422, 422)
    assert len(services.enrollment.called("import_households")) == 1


def test_a_nomination_is_placed_in_the_organisations_own_region_by_the_organisation(
        gateway, services, token_for, ids):
    response = gateway.post(f"/v1/organisations/{ids.organisation_a}/restaurants",
                            token=token_for("organisation_a"),
                            json={"name": "みどり食堂", "region_id": "elsewhere"})

    assert response.status_code == 201
    [(_, (nomination,), _)] = services.directory.called("nominate_restaurant")
    assert nomination == {"name": "みどり食堂", "region_id": ids.region,
                          "organisation_id": ids.organisation_a}


def test_another_organisations_id_in_the_query_is_refused_as_unknown(
        gateway, services, token_for, ids):
    response = gateway.get(f"/v1/organisations/{ids.organisation_a}/households",
                           params={"organisation_id": ids.organisation_b},
                           token=token_for("organisation_a"))

    assert response.status_code == 404
    assert response.json()["detail"] == f"no organisation {ids.organisation_b}"
    assert services.enrollment.calls == []


def test_another_organisations_id_in_the_body_is_refused_as_unknown(
        gateway, services, token_for, ids):
    response = gateway.post(f"/v1/organisations/{ids.organisation_a}/restaurants",
                            token=token_for("organisation_a"),
                            json={"name": "みどり食堂", "organisation_id": ids.organisation_b})

    assert response.status_code == 404
    problem = response.json()
    assert (problem["code"], problem["detail"], problem["details"]) == (
        "organisation_not_found", f"no organisation {ids.organisation_b}", {})
    assert services.directory.calls == []


def test_an_organisation_lists_the_restaurants_it_nominated(gateway, services, token_for, ids):
    response = gateway.get(f"/v1/organisations/{ids.organisation_a}/restaurants",
                           token=token_for("organisation_a"))

    assert response.status_code == 200
    assert services.directory.called("list_restaurants") == [
        ("list_restaurants", (ids.region,),
         {"status": None, "organisation_id": ids.organisation_a})]


def test_enrolling_a_household_answers_201(gateway, services, token_for, ids):
    response = gateway.post(f"/v1/organisations/{ids.organisation_a}/households",
                            token=token_for("organisation_a"),
                            json={"external_ref": "A-002", "channel": "card"})

    assert response.status_code == 201
    assert services.enrollment.called("enrol_household")[0][1] == (
        ids.organisation_a, {"external_ref": "A-002", "channel": "card"})


# -- operator ---------------------------------------------------------------------------------

def test_an_organisation_is_created_only_in_a_region_with_a_program(
        gateway, services, token_for, ids):
    token = token_for("operator")

    created = gateway.post(f"/v1/regions/{ids.region}/organisations", token=token,
                           json={"name": "ひかり会", "region_id": "elsewhere"})
    refused = gateway.post("/v1/regions/no-program-ku/organisations", token=token,
                           json={"name": "ひかり会"})

    assert created.status_code == 201
    assert created.json()["region_id"] == ids.region
    assert refused.status_code == 404
    assert refused.json()["code"] == "program_not_found"
    assert len(services.enrollment.called("create_organisation")) == 1


def test_an_issuance_run_is_started_for_a_well_formed_period_only(
        gateway, services, token_for, ids):
    path = f"/v1/regions/{ids.region}/issuance-runs"
    token = token_for("operator")

    started = gateway.post(path, token=token, json={"period": "2026-03"})
    again = gateway.post(path, token=token, json={"period": "2026-03"})
    refused = gateway.post(path, token=token, json={"period": "March"})

    assert (started.status_code, again.status_code) == (200, 200)
    assert started.json()["period"] == "2026-03"
    assert refused.status_code == 422
    assert services.issuance.called("start_run") == [
        ("start_run", (ids.region, "2026-03"), {"idempotency_key": GENERATED_KEY})] * 2


def test_the_roster_count_is_an_object(gateway, token_for, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/roster-count",
                           token=token_for("operator"))

    assert response.json() == {"region_id": ids.region, "count": 42}


def test_the_region_summary_combines_three_services_for_one_month(
        gateway, services, token_for, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/summary?month=2026-03",
                           token=token_for("operator"))
    missing_month = gateway.get(f"/v1/regions/{ids.region}/summary",
                                token=token_for("operator"))

    assert response.status_code == 200
    summary = response.json()
    assert summary["month"] == "2026-03"
    assert summary["redemption"]["yen_redeemed"] == 1200
    assert summary["enrollment"][ids.organisation_a]["active"] == 1
    assert summary["notification"]["total"] == 3
    assert services.notification.calls == [
        ("delivery_summary", (), {"region_id": ids.region})]
    assert missing_month.status_code == 422


def test_a_suspension_needs_a_reason(gateway, services, token_for, ids):
    path = f"/v1/restaurants/{ids.restaurant}/suspend"
    token = token_for("operator")

    without = gateway.post(path, token=token, json={})
    with_reason = gateway.post(path, token=token, json={"reason": "衛生指導のため"})

    assert without.status_code == 422
    assert with_reason.status_code == 200
    assert services.directory.called("suspend_restaurant") == [
        ("suspend_restaurant", (ids.restaurant, "衛生指導のため"), {})]


# -- operations -------------------------------------------------------------------------------

def test_health_and_metrics_answer_without_a_token(gateway, token_for, ids):
    gateway.get(f"/v1/regions/{ids.region}/program", token=token_for("restaurant"))

    health = gateway.get("/health")
    metrics = gateway.get("/metrics")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert metrics.status_code == 200
    assert 'shokudo_gateway_access_refused_total{reason="forbidden_role"}' in metrics.text
    assert 'gateway_http_requests_total{endpoint="/v1/regions/<region_id>/program",' \
           'http_method="GET",status_code="403"}' in metrics.text


@pytest.mark.parametrize("body_key, header_key, sent_key", [
    ("till-7-0042", None, "till-7-0042"),
    (None, "till-7-0042", "till-7-0042"),
    ("till-7-0042", "till-7-0042", "till-7-0042"),
    (None, None, GENERATED_KEY),
])
def test_a_redemption_carries_the_tills_idempotency_key_from_body_or_header(
        gateway, services, token_for, ids, body_key, header_key, sent_key):
    body = {"bill_yen": 800, "qr_token": "signed-token"}
    if body_key:
        body["idempotency_key"] = body_key
    headers = {"Idempotency-Key": header_key} if header_key else {}

    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"), json=body, headers=headers)

    assert response.status_code == 200
    [(_, (sent,), _)] = services.redemption.called("redeem")
    assert sent.get("idempotency_key") == sent_key


def test_two_different_idempotency_keys_are_refused(gateway, services, token_for, ids):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": 800, "qr_token": "t", "idempotency_key": "a"},
                            headers={"Idempotency-Key": "b"})

    assert response.status_code == 422
    assert set(response.json()["details"]["fields"]) == {"idempotency_key"}
    assert services.redemption.calls == []


def test_households_can_be_listed_by_status(gateway, services, token_for, ids):
    path = f"/v1/organisations/{ids.organisation_a}/households"

    gateway.get(path + "?status=suspended", token=token_for("organisation_a"))
    gateway.get(path, token=token_for("organisation_a"))

    assert [call[2] for call in services.enrollment.called("list_households")] == [
        {"status": "suspended"}, {"status": None}]
