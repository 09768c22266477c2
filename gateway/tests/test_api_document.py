"""The API document: every route in it, with what it reads, answers and refuses."""

import base64
import hashlib
import json
import warnings

import pytest
import requests

from gateway import auth, openapi
from gateway.http import ROUTES

JSON_ANSWERS_WITHOUT_SCHEMA = {"/openapi.json"}


@pytest.fixture(scope="module")
def document(running_gateway):
    _, base_url = running_gateway
    response = requests.get(base_url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def operation(document, spec):
    return document["paths"][openapi.openapi_path(spec.url)][spec.method.lower()]


def test_every_declared_route_is_in_the_document_once(document):
    documented = {(path, method) for path, methods in document["paths"].items()
                  for method in methods}

    assert documented == {(openapi.openapi_path(spec.url), spec.method.lower())
                          for spec in ROUTES}
    assert len(documented) == len(ROUTES)


def test_every_route_declares_its_answer_and_every_body_it_reads():
    for spec in ROUTES:
        if spec.produces == "application/json" and spec.url not in JSON_ANSWERS_WITHOUT_SCHEMA:
            assert spec.answer is not None, spec.url
        if spec.method in ("PUT", "POST") and spec.body is None and spec.accepts:
            assert spec.accepts != ("application/json",), spec.url


def test_paths_are_in_openapi_form_with_each_path_value_a_required_parameter(document):
    [spec] = [spec for spec in ROUTES if spec.handler == "settlement_csv"]

    described = operation(document, spec)

    assert openapi.openapi_path(spec.url) == "/v1/regions/{region_id}/settlements/{month}.csv"
    assert {(p["name"], p["in"], p["required"]) for p in described["parameters"]} == {
        ("region_id", "path", True), ("month", "path", True)}
    assert "text/csv" in described["responses"]["200"]["content"]


def test_routes_with_a_token_say_so_and_public_ones_do_not(document):
    for spec in ROUTES:
        security = operation(document, spec)["security"]
        assert security == ([] if spec.serves is auth.PUBLIC else [{"bearer": []}])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_error_is_a_problem_and_each_route_lists_the_errors_it_can_answer(document):
    [enrol] = [spec for spec in ROUTES if spec.handler == "enrol_household"]

    responses = operation(document, enrol)["responses"]

    assert set(responses) == {"201", "400", "401", "403", "404", "409", "413", "415", "422",
                              "503"}
    for status, response in responses.items():
        if status != "201":
            assert response["content"] == {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "household_cap_reached" in responses["409"]["description"]


def test_a_public_route_without_a_body_or_ids_can_only_fail_when_a_service_is_away(document):
    [health] = [spec for spec in ROUTES if spec.url == "/health"]
    [restaurants] = [spec for spec in ROUTES if spec.handler == "public_restaurants"]

    assert set(operation(document, health)["responses"]) == {"200"}
    assert set(operation(document, restaurants)["responses"]) == {"200", "404", "503"}


def test_bodies_the_services_own_are_described_and_refuse_unknown_fields(document):
    schemas = document["components"]["schemas"]

    household = schemas["HouseholdBody"]
    assert set(household["required"]) >= {"external_ref", "guardian_name", "children",
                                         "channel"}
    assert household["properties"]["children"]["maximum"] == 15
    assert household["additionalProperties"] is False
    assert schemas["NominationBody"]["properties"]["opening_hours"] == {
        "$ref": "#/components/schemas/OpeningHours"}


def test_answers_towards_restaurants_and_the_public_are_closed_and_staff_answers_open(
        document):
    schemas = document["components"]["schemas"]

    assert schemas["PublicRestaurant"]["additionalProperties"] is False
    assert schemas["RedemptionAnswer"]["additionalProperties"] is False
    assert schemas["Household"]["additionalProperties"] is True


def test_every_declared_code_has_a_status():
    for spec in ROUTES:
        assert set(spec.errors) <= set(openapi.CODE_STATUS), spec.url


def test_the_docs_page_shows_each_route_who_may_call_it_and_loads_nothing(gateway):
    response = gateway.get("/docs")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "/v1/organisations/{organisation_id}/households" in page
    assert "Serves the roles: operator, organisation." in page
    assert "household_cap_reached" in page
    # Each parameter says what it is, as the document does.
    assert "metres, 2000 unless given" in page
    assert "flags separated by commas" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3", "")
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")


def test_routes_that_read_an_idempotency_key_document_the_header_and_its_conflict(document):
    for spec in ROUTES:
        described = operation(document, spec)
        headers = [p["name"] for p in described["parameters"] if p["in"] == "header"]
        assert ("Idempotency-Key" in headers) == spec.idempotent, spec.url
        if spec.idempotent:
            assert "idempotency_key_reused" in described["responses"]["409"]["description"]
    assert {spec.handler for spec in ROUTES if spec.idempotent} == {
        "enrol_household", "replace_card", "import_households", "start_issuance_run", "redeem",
        "void_redemption", "issue_card", "block_card", "move_household"}


def test_routes_on_personal_data_document_the_access_reason_and_its_422(document):
    declared = [spec for spec in ROUTES if spec.personal_data]
    for spec in ROUTES:
        described = operation(document, spec)
        [reason] = [p for p in described["parameters"] if p["name"] == "X-Access-Reason"] \
            if spec.personal_data else [None]
        if reason is None:
            assert "X-Access-Reason" not in json.dumps(described["parameters"]), spec.url
            continue
        assert (reason["in"], reason["required"], reason["schema"]["maxLength"]) == (
            "header", False, 200)
        assert "invalid_input" in described["responses"]["422"]["description"], spec.url
    assert len(declared) >= 19
    assert {"get_household", "new_activation_code", "acknowledge_concern",
            "close_concern"} <= {spec.handler for spec in declared}


def test_the_docs_page_style_is_the_one_its_policy_allows(gateway):
    response = gateway.get("/docs")

    style = response.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert f"style-src 'sha256-{digest}'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_each_schema_is_named_once_in_the_document():
    # apispec renames a second schema class of the same name with a warning: two schemas
    # describing one thing would drift apart.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Multiple schemas resolved")
        openapi.build(ROUTES)
