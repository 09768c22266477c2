"""Input an attacker or a broken client sends: each a 4xx that says why, none reaching a service."""

import pytest

CARD = "4000 0000 0000 0002"


def redeem(gateway, token_for, ids, body):
    return gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                        token=token_for("restaurant"), json=body)


def fields_named(response):
    assert response.headers["Content-Type"] == "application/problem+json"
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.mark.parametrize("bill", [-500, 0, 12.5, 1200.0, "1200", True, 10**20, None, [1200]])
def test_a_bill_that_is_not_whole_positive_yen_is_a_422_naming_it(
        gateway, services, token_for, ids, bill):
    response = redeem(gateway, token_for, ids, {"bill_yen": bill, "card_number": CARD})

    assert response.status_code == 422
    assert set(fields_named(response)) == {"bill_yen"}
    assert services.redemption.calls == []


def test_unknown_fields_are_refused_by_name(gateway, services, token_for, ids):
    response = redeem(gateway, token_for, ids, {"bill_yen": 800, "card_number": CARD,
                                                "household_id": ids.household_a,
                                                "discount": 100})

    assert response.status_code == 422
    assert fields_named(response) == {"household_id": "Unknown field.",
                                      "discount": "Unknown field."}
    assert services.redemption.calls == []


@pytest.mark.parametrize("code", ["K7Q2\x00M9XD", "K7Q2\u202eM9XD", "\t", "   ", ""])
def test_hostile_or_empty_text_is_a_422_naming_the_field(gateway, services, code):
    response = gateway.post("/v1/app/activate", json={"activation_code": code})

    assert response.status_code == 422
    assert set(fields_named(response)) == {"activation_code"}
    assert services.enrollment.calls == []


@pytest.mark.parametrize("raw", [
    b'{"activation_code": "\\ud800"}', b'{"\\udfff": "x"}',
])
def test_a_lone_surrogate_anywhere_is_a_400_before_any_schema(gateway, services, raw):
    response = gateway.post("/v1/app/activate", data=raw,
                            headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert services.enrollment.calls == []


def test_invalid_utf8_is_a_400(gateway, services):
    response = gateway.post("/v1/app/activate", data=b'{"activation_code": "\xff\xfe"}',
                            headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_a_sign_in_with_a_number_for_a_login_names_the_field(gateway, ids):
    response = gateway.post("/v1/auth/sign-in", json={"login": 12345, "password": ids.password})

    assert response.status_code == 422
    assert set(fields_named(response)) == {"login"}


@pytest.mark.parametrize("raw, why", [
    (b'{"bill_yen": 800, "bill_yen": 100000, "card_number": "4000000000000002"}',
     "the key bill_yen is given more than once"),
    (b'{"bill_yen": 1e999, "card_number": "4000000000000002"}', "1e999 is too large a number"),
    (b'{"bill_yen": Infinity}', "Infinity is not a number"),
    (b'{"bill_yen": ' + b"9" * 5000 + b"}", "not valid JSON text"),
    (b'{"bill_yen": 800,}', "at line 1, column 18"),
    (b"[" * 50 + b"]" * 50, "nested deeper than 20 levels"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 20 levels"),
])
def test_json_that_is_not_plain_data_is_a_400_saying_why(
        gateway, services, token_for, ids, raw, why):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"), data=raw,
                            headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert why in response.json()["detail"]
    assert services.redemption.calls == []


@pytest.mark.parametrize("raw_id", ["%ED%A0%80", "%FF%FE", "%00", "%E2%80%AE", "a" * 5000])
def test_a_hostile_id_in_the_path_is_the_unknown_id_404(gateway, token_for, raw_id):
    response = gateway.get(f"/v1/organisations/{raw_id}/households",
                           token=token_for("operator"))

    assert response.status_code == 404
    assert response.json()["code"] == "organisation_not_found"


@pytest.mark.parametrize("month", ["%ED%A0%80", "2026-03%00", "0000-01", "9999-12"])
def test_a_hostile_month_in_the_query_is_a_422(gateway, services, token_for, ids, month):
    response = gateway.get(f"/v1/regions/{ids.region}/summary?month={month}",
                           token=token_for("operator"))

    assert response.status_code == 422
    assert set(fields_named(response)) == {"month"}


@pytest.mark.parametrize("path, params", [
    ("/v1/regions/{region}/program", {"debug": "1"}),                     # reads no query
    ("/v1/organisations/{organisation_a}/households", {"stauts": "active"}),  # misspelt
    ("/v1/organisations/{organisation_a}/households", {"status": "active", "x\u200b": "1"}),
])
def test_unknown_query_parameters_are_refused_by_name_before_any_service(
        gateway, services, token_for, ids, path, params):
    response = gateway.get(path.format(**vars(ids)), params=params, token=token_for("operator"))

    assert response.status_code == 422
    unknown = {name.encode("unicode_escape").decode("ascii") for name in params
               if name != "status"}
    assert fields_named(response) == {name: "Unknown field." for name in unknown}
    assert services.enrollment.calls == services.issuance.calls == []


def test_a_query_parameter_given_twice_is_refused_by_name_not_half_read(gateway, services):
    response = gateway.get("/v1/regions/hoshizora-ku/restaurants/nearby", params=[
        ("lat", "35.7"), ("lon", "139.7"), ("flags", "allergy_menu"), ("flags", "takeout")])

    assert response.status_code == 422
    assert fields_named(response) == {
        "flags": "Given more than once; separate a list by commas."}
    assert services.directory.calls == []


def test_known_query_parameters_still_pass(gateway, services, token_for, ids):
    response = gateway.get(f"/v1/organisations/{ids.organisation_a}/households",
                           params={"status": "active"}, token=token_for("operator"))

    assert response.status_code == 200
