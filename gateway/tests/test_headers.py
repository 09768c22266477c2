"""Headers on every answer: browser safety, no caching of personal data, CORS for our apps."""

import pytest

from shokudo_common.logs import CORRELATION_HEADER

from gateway.http import IDEMPOTENCY_HEADER
from gateway.trail import ACCESS_REASON_HEADER

# As the gateway's test configuration allows it (see conftest).
APP_ORIGIN = "https://app.shokudo.example"

SAFETY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def answers(gateway, token_for, ids):
    """One answer of each kind: success, refusal, error before routing, error of a service."""
    return {
        "health": gateway.get("/health"),
        "signed in": gateway.get("/v1/app/me/ticket", token=token_for("household")),
        "no token": gateway.get(f"/v1/regions/{ids.region}/program"),
        "no route": gateway.get("/v1/nowhere"),
        "bad body": gateway.post("/v1/app/activate", data=b"{", headers={
            "Content-Type": "application/json"}),
    }


def test_every_answer_carries_the_safety_headers_and_is_not_stored(gateway, token_for, ids):
    for name, response in answers(gateway, token_for, ids).items():
        for header, value in SAFETY.items():
            assert response.headers[header] == value, (name, header)
        assert response.headers["Strict-Transport-Security"].startswith("max-age="), name
        assert response.headers["Content-Security-Policy"] == (
            "default-src 'none'; frame-ancestors 'none'"), name
        assert response.headers["Cache-Control"] == "no-store", name


def test_the_api_document_may_be_cached_but_is_otherwise_as_safe(gateway):
    response = gateway.get("/openapi.json")

    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_allowed_origin_may_read_answers_and_errors(gateway, token_for, ids):
    origin = {"Origin": APP_ORIGIN}

    ticket = gateway.get("/v1/app/me/ticket", token=token_for("household"), headers=origin)
    refused = gateway.get("/v1/app/me/ticket", headers=origin)

    for response in (ticket, refused):
        assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
        assert "X-Correlation-Id" in response.headers["Access-Control-Expose-Headers"]
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_origin_listed_with_a_trailing_slash_is_the_same_origin(gateway):
    response = gateway.get("/health", headers={"Origin": "https://staff.shokudo.example"})

    assert response.headers["Access-Control-Allow-Origin"] == "https://staff.shokudo.example"


@pytest.mark.parametrize("origin", ["https://evil.example", "null",
                                    "https://app.shokudo.example.evil.example"])
def test_any_other_origin_gets_no_cors_headers(gateway, origin):
    response = gateway.get("/health", headers={"Origin": origin})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_from_an_allowed_origin_is_answered_without_reaching_a_route(
        gateway, services, ids):
    response = gateway.request("OPTIONS", f"/v1/restaurants/{ids.restaurant}/redemptions",
                               headers={"Origin": APP_ORIGIN,
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "authorization"})

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {name.strip().lower() for name in
               response.headers["Access-Control-Allow-Headers"].split(",")}
    # Every header a route reads, by the names the code reads them with.
    read = {"Authorization", "Content-Type", IDEMPOTENCY_HEADER, ACCESS_REASON_HEADER,
            CORRELATION_HEADER}
    assert {name.lower() for name in read} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert services.redemption.calls == []


def test_a_preflight_from_another_origin_is_not_allowed(gateway, ids):
    response = gateway.request("OPTIONS", f"/v1/restaurants/{ids.restaurant}/redemptions",
                               headers={"Origin": "https://evil.example",
                                        "Access-Control-Request-Method": "POST"})

    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_options_on_a_route_that_does_not_exist_is_a_404_problem(gateway):
    response = gateway.request("OPTIONS", "/v1/nowhere", headers={"Origin": APP_ORIGIN})

    assert response.status_code == 404
    assert response.json()["code"] == "route_not_found"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
