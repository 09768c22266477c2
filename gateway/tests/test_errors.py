"""Every failure reaches the caller as one status and one problem details body (RFC 9457), with
the correlation id."""

import json

import pytest
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService

from shokudo_common.errors import Conflict, InvalidInput, Unavailable

from gateway import problems
from gateway.http import MAX_BODY_BYTES


def households_path(ids):
    return f"/v1/organisations/{ids.organisation_a}/households"


PROBLEM_MEMBERS = {"type", "title", "title_ja", "status", "detail", "code", "correlation_id",
                   "details"}


def assert_error(response, status, code):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) - {"errors"} == PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:shokudo:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["title_ja"] == problems.TITLES[code][1]
    assert body["correlation_id"] == response.headers["X-Correlation-Id"] != ""
    return body


def test_a_services_invalid_input_is_a_422_naming_each_field(
        gateway, services, token_for, ids):
    services.enrollment.failure = InvalidInput(
        "invalid_input", "some fields are missing or wrong: guardian_name, phone",
        {"fields": {"guardian_name": ["must not be blank"], "phone": ["not a phone number"]}},
    )

    response = gateway.post(households_path(ids), token=token_for("organisation_a"),
                            json={"guardian_name": " ", "phone": "abc"})

    error = assert_error(response, 422, "invalid_input")
    assert error["details"]["fields"] == {"guardian_name": ["must not be blank"],
                                          "phone": ["not a phone number"]}
    assert error["errors"] == [{"field": "guardian_name", "message": "must not be blank"},
                               {"field": "phone", "message": "not a phone number"}]


def test_nested_field_errors_are_listed_by_their_dotted_path(gateway, services, token_for, ids):
    services.enrollment.failure = InvalidInput("invalid_input", "wrong", {"fields": {
        "opening_hours": {"mon": {0: {"opens": ["HH:MM"]}}},
        "_schema": ["give a phone number or an email address"],
    }})

    response = gateway.post(households_path(ids), token=token_for("organisation_a"), json={})

    assert assert_error(response, 422, "invalid_input")["errors"] == [
        {"field": "opening_hours.mon.0.opens", "message": "HH:MM"},
        {"field": "body", "message": "give a phone number or an email address"},
    ]


def test_the_gateways_own_checks_name_each_bad_field_and_reach_no_service(
        gateway, services, token_for, ids):
    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": "1200", "card_number": "1234"})

    error = assert_error(response, 422, "invalid_input")
    assert set(error["details"]["fields"]) == {"bill_yen", "card_number"}
    assert services.redemption.calls == []


def test_a_conflict_is_a_409_with_its_own_code(gateway, services, token_for, ids):
    services.enrollment.failure = Conflict("household_cap_reached",
                                           "the organisation has 20 active households",
                                           {"cap": 20})

    response = gateway.post(households_path(ids), token=token_for("organisation_a"), json={})

    error = assert_error(response, 409, "household_cap_reached")
    assert error["details"] == {"cap": 20}


def test_a_service_that_does_not_answer_is_a_503_with_retry_after(
        gateway, services, token_for, ids):
    services.redemption.failure = Unavailable(
        "service_unavailable", "the redemption service did not answer within 10 s",
        {"service": "redemption", "retry_after_seconds": 7},
    )

    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": 800, "qr_token": "signed-token"})

    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("failure", [
    ConnectionRefusedError(111, "Connection refused"),
    OperationalError("[Errno 111] Connection refused"),
])
def test_a_broker_that_cannot_be_reached_is_a_503_not_a_500(
        gateway, services, token_for, ids, failure):
    services.redemption.failure = failure

    response = gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                            token=token_for("restaurant"),
                            json={"bill_yen": 800, "qr_token": "signed-token"})

    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) >= 1


def test_a_json_body_that_is_not_json_is_a_400(gateway, services, token_for, ids):
    token = token_for("organisation_a")

    for body in ["{'guardian_name': 1", "", '{"bill_yen": NaN}', '{"a": 1} trailing',
                 '{"guardian_name": "\\ud800"}']:
        response = gateway.post(households_path(ids), token=token, data=body.encode(),
                                headers={"Content-Type": "application/json; charset=utf-8"})
        assert_error(response, 400, "invalid_json")

    assert services.enrollment.calls == []


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None,
])
def test_a_body_of_another_type_than_json_is_a_415_naming_the_one_to_send(
        gateway, services, token_for, ids, content_type):
    headers = {"Content-Type": content_type} if content_type else {}

    response = gateway.post(households_path(ids), token=token_for("organisation_a"),
                            data=b'{"guardian_name": "x"}', headers=headers)

    error = assert_error(response, 415, "unsupported_media_type")
    assert error["details"] == {"accepted": ["application/json"]}
    assert services.enrollment.calls == []


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"}])
def test_a_json_route_sent_no_body_at_all_is_told_to_send_one(gateway, services, token_for, ids,
                                                               headers):
    response = gateway.post(households_path(ids), token=token_for("organisation_a"),
                            headers=headers)

    error = assert_error(response, 400, "invalid_json")
    assert "empty" in error["detail"] and "application/json" in error["detail"]
    assert services.enrollment.calls == []


def test_a_json_flavoured_media_type_is_json(gateway, services, ids):
    body = json.dumps({"activation_code": ids.activation_code}).encode()

    response = gateway.post("/v1/app/activate", data=body,
                            headers={"Content-Type": "application/vnd.shokudo+json"})

    assert response.status_code == 200


def test_the_spreadsheet_import_takes_csv_or_bytes_and_nothing_else(
        gateway, services, token_for, ids):
    path = f"{households_path(ids)}/import"
    token = token_for("organisation_a")

    answers = [gateway.post(path, token=token, data=b"a,b\r\n", headers={"Content-Type": sent})
               for sent in ("text/csv; charset=shift_jis", "application/octet-stream")]
    refused = gateway.post(path, token=token, json={"csv": "a,b"})

    assert [answer.status_code for answer in answers] == [200, 200]
    error = assert_error(refused, 415, "unsupported_media_type")
    assert error["details"] == {"accepted": ["text/csv", "application/octet-stream"]}


def test_json_that_is_not_an_object_is_a_422(gateway, token_for, ids):
    response = gateway.post(households_path(ids), token=token_for("organisation_a"),
                            json=["not", "an", "object"])

    assert_error(response, 422, "invalid_input")


def test_a_body_over_5_mb_is_a_413_and_reaches_no_service(gateway, services, token_for, ids):
    huge = b'{"guardian_name": "' + b"x" * MAX_BODY_BYTES + b'"}'

    response = gateway.post(households_path(ids), token=token_for("organisation_a"),
                            data=huge, headers={"Content-Type": "application/json"})

    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": MAX_BODY_BYTES}
    assert services.enrollment.calls == []


def chunked(size, piece=1024 * 1024):
    """A body sent without Content-Length, as streaming clients do."""
    while size > 0:
        yield b"x" * min(piece, size)
        size -= piece


def test_a_chunked_body_one_byte_over_5_mb_is_a_413_not_cut_short(
        gateway, services, token_for, ids):
    path = f"/v1/organisations/{ids.organisation_a}/households/import"
    token = token_for("organisation_a")

    csv = {"Content-Type": "text/csv"}
    over = gateway.post(path, token=token, data=chunked(MAX_BODY_BYTES + 1), headers=csv)
    at_limit = gateway.post(path, token=token, data=chunked(MAX_BODY_BYTES), headers=csv)

    assert over.request.headers["Transfer-Encoding"] == "chunked"
    assert_error(over, 413, "payload_too_large")
    assert at_limit.status_code == 200
    [(_, (_, encoded), _)] = services.enrollment.called("import_households")
    assert len(encoded) == 4 * ((MAX_BODY_BYTES + 2) // 3)


def test_an_unexpected_failure_is_a_500_that_shows_no_internals(
        gateway, services, token_for, ids):
    services.enrollment.failure = RuntimeError("password=hunter2 at enrollment/db.py:42")

    response = gateway.post(households_path(ids), token=token_for("organisation_a"), json={})

    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "db.py" not in response.text
    assert error["details"] == {}


def test_an_unknown_route_or_method_is_json_too(gateway, token_for):
    missing = gateway.get("/v1/nowhere")
    wrong_method = gateway.request("DELETE", "/v1/app/me/ticket", token=token_for("household"))

    assert_error(missing, 404, "route_not_found")
    assert_error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["Allow"]


def test_a_malformed_id_in_the_path_is_an_unknown_one(gateway, token_for):
    response = gateway.get("/v1/organisations/not-a-uuid/households",
                           token=token_for("operator"))

    error = assert_error(response, 404, "organisation_not_found")
    assert error["detail"] == "no organisation not-a-uuid"


def test_a_malformed_month_in_the_path_is_a_422(gateway, services, token_for, ids):
    response = gateway.get(f"/v1/restaurants/{ids.restaurant}/statements/2026-13",
                           token=token_for("restaurant"))

    error = assert_error(response, 422, "invalid_input")
    assert set(error["details"]["fields"]) == {"month"}
    assert services.redemption.calls == []


def test_the_callers_correlation_id_is_echoed_and_one_is_made_when_missing(gateway, ids):
    echoed = gateway.get("/health", headers={"X-Correlation-Id": "till-7-morning"})
    made = gateway.get("/health")
    refused = gateway.get(f"/v1/regions/{ids.region}/program",
                          headers={"X-Correlation-Id": "till-7-evening"})

    assert echoed.headers["X-Correlation-Id"] == "till-7-morning"
    assert len(made.headers["X-Correlation-Id"]) == 32
    assert refused.headers["X-Correlation-Id"] == "till-7-evening"


def test_one_service_failing_the_region_summary_makes_it_a_503(
        gateway, services, token_for, ids):
    services.redemption.region_summary = fail_with(Unavailable(
        "service_unavailable", "the redemption service did not answer within 10 s",
        {"service": "redemption", "retry_after_seconds": 5}))

    response = gateway.get(f"/v1/regions/{ids.region}/summary?month=2026-03",
                           token=token_for("operator"))

    error = assert_error(response, 503, "service_unavailable")
    assert error["details"]["service"] == "redemption"
    assert response.headers["Retry-After"] == "5"


def test_a_service_whose_database_is_away_is_a_503_and_any_other_fault_a_500(
        gateway, services, token_for, ids):
    path = f"/v1/regions/{ids.region}/program"
    services.issuance.get_program = fail_with(RemoteError(
        "OperationalError", "(psycopg2.OperationalError) FATAL: sorry, too many clients"))
    away = gateway.get(path, token=token_for("operator"))
    services.issuance.get_program = fail_with(RemoteError("KeyError", "'amount_yen'"))
    broken = gateway.get(path, token=token_for("operator"))

    assert_error(away, 503, "service_unavailable")
    assert "psycopg2" not in away.text and "clients" not in away.text
    assert int(away.headers["Retry-After"]) >= 1
    assert_error(broken, 500, "internal_error")


def test_a_service_with_no_replica_running_is_a_503(gateway, services, token_for, ids):
    services.issuance.get_program = fail_with(UnknownService("issuance"))

    response = gateway.get(f"/v1/regions/{ids.region}/program", token=token_for("operator"))

    error = assert_error(response, 503, "service_unavailable")
    assert error["details"] == {"service": "issuance"}
    assert response.headers["Retry-After"] == "5"


def fail_with(failure):
    def call(*args, **kwargs):
        raise failure

    return call
