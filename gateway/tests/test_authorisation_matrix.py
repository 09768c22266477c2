"""Every declared route against every kind of caller, each cell's exact status.

The routes come from ``gateway.http.ROUTES``: a route added without its row here fails the
first test, so none is forgotten. Each cell is one request to the running gateway, with the
rate limits' counts forgotten before it (a limit is not what this test is about).

Columns: no token; operator of every region; operator limited to another region; organisation
A (whose ids the paths name) and organisation B; the restaurant the paths name and another;
household A and household B.
"""

import pytest

from care_fakes import CONCERN
from gateway.http import ROUTES

COLUMNS = ("none", "operator", "operator_elsewhere", "organisation_a", "organisation_b",
           "restaurant", "other_restaurant", "household", "household_b")
REDEMPTION = "ffffffff-3333-4000-8000-000000000005"

# Rows by audience: what each column gets, ``ok`` standing for the route's success status.
OPERATOR_ONLY = (401, "ok", 404, 403, 403, 403, 403, 403, 403)
ORGANISATION_STAFF = (401, "ok", 404, "ok", 404, 403, 403, 403, 403)
RESTAURANT_COUNTER = (401, 403, 403, 403, 403, "ok", 404, 403, 403)
RESTAURANT_BOOKS = (401, "ok", 404, 403, 403, "ok", 404, 403, 403)
HOUSEHOLD_ONLY = (401, 403, 403, 403, 403, 403, 403, "ok", "ok")
ANYONE = ("ok",) * 9


def created(row):
    """A row whose success is 201 Created."""
    return tuple(201 if status == "ok" else status for status in row)

REGION = "/v1/regions/<region_id>"
HOUSEHOLD = "/v1/organisations/<organisation_id>/households/<household_id>"
RESTAURANT = "/v1/restaurants/<restaurant_id>"


def matrix(ids, fresh_refresh_token):
    """(method, url) -> (row, request keyword arguments, or a function making them)."""
    card_bill = {"json": {"bill_yen": 800, "card_number": "4539578763621486"}}
    sign_in = {"json": {"login": "operator", "password": ids.password}}
    return {
        ("GET", "/health"): (ANYONE, {}),
        ("GET", "/health/live"): (ANYONE, {}),
        ("GET", "/health/ready"): (ANYONE, {}),
        ("GET", "/metrics"): (ANYONE, {}),
        ("GET", "/openapi.json"): (ANYONE, {}),
        ("GET", "/docs"): (ANYONE, {}),
        ("POST", "/v1/auth/sign-in"): (ANYONE, sign_in),
        ("POST", "/v1/auth/refresh"): (
            ANYONE, lambda: {"json": {"refresh_token": fresh_refresh_token()}}),
        ("POST", "/v1/auth/sign-out"): (
            ANYONE, lambda: {"json": {"refresh_token": fresh_refresh_token()}}),
        ("POST", "/v1/app/activate"): (
            ANYONE, {"json": {"activation_code": ids.activation_code}}),
        ("GET", f"{REGION}/restaurants"): (ANYONE, {}),
        ("GET", f"{REGION}/restaurants/nearby"): (
            ANYONE, {"params": {"lat": "35.7", "lon": "139.7"}}),

        ("PUT", f"{REGION}/program"): (OPERATOR_ONLY, {"json": {"name": "星空区"}}),
        ("GET", f"{REGION}/program"): (OPERATOR_ONLY, {}),
        ("POST", f"{REGION}/organisations"): (created(OPERATOR_ONLY), {"json": {"name": "NPO"}}),
        ("GET", f"{REGION}/organisations"): (OPERATOR_ONLY, {}),
        ("POST", f"{REGION}/issuance-runs"): (OPERATOR_ONLY, {"json": {"period": "2026-03"}}),
        ("GET", f"{REGION}/issuance-runs/<period>"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/roster-count"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/summary"): (OPERATOR_ONLY, {"params": {"month": "2026-03"}}),
        ("GET", f"{REGION}/settlements/<month>.csv"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/accounts/<period>"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/audit"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/restaurants/list.csv"): (OPERATOR_ONLY, {}),
        ("GET", f"{REGION}/restaurants/list.pdf"): (OPERATOR_ONLY, {}),
        ("POST", f"{RESTAURANT}/statements/<month>/close"): (OPERATOR_ONLY, {}),
        ("POST", f"{RESTAURANT}/approve"): (OPERATOR_ONLY, {}),
        ("POST", f"{RESTAURANT}/suspend"): (OPERATOR_ONLY, {"json": {"reason": "点検"}}),
        ("POST", f"{RESTAURANT}/reinstate"): (OPERATOR_ONLY, {}),

        ("POST", "/v1/organisations/<organisation_id>/households"): (
            created(ORGANISATION_STAFF), {"json": {"guardian_name": "山田 花子"}}),
        ("GET", "/v1/organisations/<organisation_id>/households"): (ORGANISATION_STAFF, {}),
        ("GET", HOUSEHOLD): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/suspend"): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/reinstate"): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/withdraw"): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/card/replace"): (ORGANISATION_STAFF, {"json": {"reason": "lost"}}),
        ("POST", f"{HOUSEHOLD}/activation-code"): (ORGANISATION_STAFF, {}),
        ("POST", "/v1/organisations/<organisation_id>/households/import"): (
            ORGANISATION_STAFF, {"data": "管理番号,氏名\nA-001,山田 花子\n".encode(),
                                 "headers": {"Content-Type": "text/csv"}}),
        ("POST", "/v1/organisations/<organisation_id>/restaurants"): (
            created(ORGANISATION_STAFF), {"json": {"name": "みどり食堂"}}),
        ("GET", "/v1/organisations/<organisation_id>/restaurants"): (ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/restaurants/list.csv"): (
            ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/restaurants/list.pdf"): (
            ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/households.csv"): (ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/audit"): (ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/cards.pdf"): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/card"): (created(ORGANISATION_STAFF), {}),
        ("POST", f"{HOUSEHOLD}/card/block"): (ORGANISATION_STAFF, {"json": {"reason": "lost"}}),
        ("POST", f"{HOUSEHOLD}/app-letter"): (ORGANISATION_STAFF, {}),
        ("POST", f"{HOUSEHOLD}/move"): (
            ORGANISATION_STAFF, {"json": {"to_organisation_id": ids.organisation_b}}),
        ("GET", "/v1/organisations/<organisation_id>/usage"): (ORGANISATION_STAFF, {}),
        ("GET", "/v1/organisations/<organisation_id>/concerns"): (ORGANISATION_STAFF, {}),
        ("POST", "/v1/organisations/<organisation_id>/concerns/<concern_id>/acknowledge"): (
            ORGANISATION_STAFF, {}),
        ("POST", "/v1/organisations/<organisation_id>/concerns/<concern_id>/close"): (
            ORGANISATION_STAFF, {}),

        ("POST", f"{RESTAURANT}/redemptions"): (RESTAURANT_COUNTER, card_bill),
        ("POST", f"{RESTAURANT}/redemptions/<redemption_id>/void"): (RESTAURANT_COUNTER, {}),
        ("GET", f"{RESTAURANT}/statements/<month>"): (RESTAURANT_BOOKS, {}),
        ("GET", f"{RESTAURANT}/redemptions"): (RESTAURANT_BOOKS, {}),
        ("GET", f"{RESTAURANT}/concerns"): (RESTAURANT_BOOKS, {}),
        ("POST", f"{RESTAURANT}/redemptions/<redemption_id>/concerns"): (
            created(RESTAURANT_COUNTER), {"json": {"category": "mood", "note": "元気がない"}}),

        ("GET", "/v1/app/me/ticket"): (HOUSEHOLD_ONLY, {}),
        ("POST", "/v1/app/me/qr"): (HOUSEHOLD_ONLY, {}),
        ("GET", "/v1/app/me/history"): (HOUSEHOLD_ONLY, {}),
        ("POST", "/v1/app/me/push-token"): (
            HOUSEHOLD_ONLY, {"json": {"token": "device-token-1", "platform": "ios"}}),
    }


def concrete(url, ids):
    """The URL with the ids of organisation A, its household A and the first restaurant."""
    values = {"region_id": ids.region, "organisation_id": ids.organisation_a,
              "household_id": ids.household_a, "restaurant_id": ids.restaurant,
              "redemption_id": REDEMPTION, "concern_id": CONCERN, "period": "2026-03",
              "month": "2026-03"}
    for name, value in values.items():
        url = url.replace(f"<{name}>", value)
    return url


@pytest.fixture
def fresh_refresh_token(gateway):
    def make():
        activated = gateway.post("/v1/app/activate",
                                 json={"activation_code": "K7Q2-M9XD"})
        return activated.json()["refresh_token"]

    return make


def test_every_declared_route_has_its_row(ids, fresh_refresh_token):
    declared = {(route.method, route.url) for route in ROUTES}

    assert set(matrix(ids, fresh_refresh_token)) == declared


def test_each_cell_gets_its_exact_status(gateway, services, accounts, token_for, ids,
                                         fresh_refresh_token):
    accounts.create("operator", "operator")
    success = {(route.method, route.url): route.status for route in ROUTES}

    answered, expected = {}, {}
    for (method, url), (row, how) in matrix(ids, fresh_refresh_token).items():
        for column, status in zip(COLUMNS, row):
            services.rate_limits.reset()
            kwargs = how() if callable(how) else how
            token = token_for(None if column == "none" else column)
            response = gateway.request(method, concrete(url, ids), token=token, **kwargs)

            cell = (method, url, column)
            answered[cell] = response.status_code
            expected[cell] = success[(method, url)] if status == "ok" else status

    wrong = {cell: (answered[cell], status) for cell, status in expected.items()
             if answered[cell] != status}
    assert wrong == {}, "cells answered (got, expected)"


def test_a_refused_cell_never_reaches_a_service_that_changes_anything(
        gateway, services, token_for, ids):
    """The foreign columns of changing routes: refused before any service is asked to act."""
    for column in ("organisation_b", "operator_elsewhere"):
        for action in ("suspend", "withdraw", "activation-code", "app-letter", "card/block"):
            url = concrete(f"{HOUSEHOLD}/{action}", ids)
            assert gateway.post(url, token=token_for(column)).status_code == 404

    acting = [call for call in services.enrollment.calls if call[0] != "get_organisation"]
    assert acting == []
    assert services.enrollment.households[ids.household_a]["status"] == "active"
