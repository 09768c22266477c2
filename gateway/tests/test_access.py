"""Who reaches what, through the running gateway: roles, scopes and the two ways to a token."""

from datetime import datetime, timedelta, timezone

CALLERS = ("operator", "organisation_a", "organisation_b", "restaurant", "household", None)
CARD = "4539 5787 6362 1486"


def route_table(ids):
    """(method, path, body, expected status per caller, in the order of CALLERS)."""
    org_a = f"/v1/organisations/{ids.organisation_a}"
    restaurant = f"/v1/restaurants/{ids.restaurant}"
    return [
        ("GET", f"/v1/regions/{ids.region}/program", None, (200, 403, 403, 403, 403, 401)),
        ("POST", f"{restaurant}/approve", None, (200, 403, 403, 403, 403, 401)),
        ("GET", f"{org_a}/households", None, (200, 200, 404, 403, 403, 401)),
        ("GET", f"{org_a}/households/{ids.household_a}", None,
         (200, 200, 404, 403, 403, 401)),
        ("POST", f"{org_a}/households/{ids.household_a}/suspend", None,
         (200, 200, 404, 403, 403, 401)),
        ("GET", f"{org_a}/restaurants", None, (200, 200, 404, 403, 403, 401)),
        ("POST", f"{restaurant}/redemptions", {"bill_yen": 1200, "card_number": CARD},
         (403, 403, 403, 200, 403, 401)),
        ("GET", f"{restaurant}/statements/2026-03", None, (200, 403, 403, 200, 403, 401)),
        ("GET", "/v1/app/me/ticket", None, (403, 403, 403, 403, 200, 401)),
        ("POST", "/v1/app/me/qr", None, (403, 403, 403, 403, 200, 401)),
        ("GET", f"/v1/regions/{ids.region}/restaurants", None, (200,) * 6),
    ]


def test_each_role_reaches_exactly_its_routes(gateway, token_for, ids):
    answered = {}
    expected = {}
    for method, path, body, statuses in route_table(ids):
        for caller, status in zip(CALLERS, statuses):
            response = gateway.request(method, path, token=token_for(caller), json=body)
            answered[(method, path, caller)] = response.status_code
            expected[(method, path, caller)] = status

    assert answered == expected


def test_a_refused_caller_never_reaches_a_service(gateway, services, token_for, ids):
    path = f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}/withdraw"

    for caller in ("organisation_b", "restaurant", "household", None):
        gateway.post(path, token=token_for(caller))

    assert services.enrollment.calls == []
    assert services.enrollment.households[ids.household_a]["status"] == "active"


def test_an_organisation_cannot_read_or_change_another_organisations_household(
        gateway, services, token_for, ids):
    token = token_for("organisation_a")
    theirs = f"/v1/organisations/{ids.organisation_b}/households/{ids.household_b}"
    # Their household under our own organisation's path: the service refuses it.
    smuggled = f"/v1/organisations/{ids.organisation_a}/households/{ids.household_b}"

    answers = [
        gateway.get(theirs, token=token),
        gateway.post(f"{theirs}/withdraw", token=token),
        gateway.get(smuggled, token=token),
        gateway.post(f"{smuggled}/suspend", token=token),
        gateway.get(f"/v1/organisations/{ids.organisation_b}/households", token=token),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert "佐藤" not in "".join(answer.text for answer in answers)
    assert services.enrollment.households[ids.household_b]["status"] == "active"
    assert all(call[1][0] == ids.organisation_a for call in services.enrollment.calls)


def test_another_organisation_gets_the_same_404_as_an_organisation_nobody_has(
        gateway, token_for, ids):
    theirs = gateway.get(f"/v1/organisations/{ids.organisation_b}/households",
                         token=token_for("organisation_a"))
    nobodys = gateway.get(f"/v1/organisations/{ids.unknown}/households",
                          token=token_for("operator"))

    assert theirs.status_code == nobodys.status_code == 404
    # The same problem but for the id named and the request's own correlation id.
    assert theirs.json() == {
        **nobodys.json(), "detail": f"no organisation {ids.organisation_b}",
        "correlation_id": theirs.headers["X-Correlation-Id"],
    }
    assert nobodys.json()["detail"] == f"no organisation {ids.unknown}"


def test_a_restaurant_sees_no_other_restaurants_statement(gateway, services, token_for, ids):
    response = gateway.get(f"/v1/restaurants/{ids.other_restaurant}/statements/2026-03",
                           token=token_for("restaurant"))

    assert response.status_code == 404
    assert response.json()["code"] == "restaurant_not_found"
    assert services.redemption.calls == []


def test_an_expired_or_forged_token_is_a_401_that_says_why(gateway, token_for, ids):
    long_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    path = f"/v1/regions/{ids.region}/program"

    expired = gateway.get(path, token=token_for("operator", now=long_ago))
    forged = gateway.get(path, token=token_for("operator") + "x")
    missing = gateway.get(path)

    assert [r.status_code for r in (expired, forged, missing)] == [401, 401, 401]
    assert [r.json()["code"] for r in (expired, forged, missing)] == [
        "token_expired", "invalid_token", "missing_token"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")


# -- getting a token --------------------------------------------------------------------------

def test_staff_sign_in_and_get_a_token_scoped_to_their_organisation(gateway, accounts, ids):
    accounts.create("aoba.staff", "organisation", organisation_id=ids.organisation_a)

    response = gateway.post("/v1/auth/sign-in", json={"login": "Aoba.Staff ",
                                                      "password": ids.password})

    assert response.status_code == 200
    token = response.json()["access_token"]
    assert response.json()["expires_in"] == 15 * 60
    assert response.json()["organisation_id"] == ids.organisation_a
    own = gateway.get(f"/v1/organisations/{ids.organisation_a}/households", token=token)
    other = gateway.get(f"/v1/organisations/{ids.organisation_b}/households", token=token)
    assert (own.status_code, other.status_code) == (200, 404)


def test_the_bootstrap_key_route_is_gone(gateway):
    response = gateway.post("/v1/auth/token", json={"api_key": "x", "role": "operator"})

    assert response.status_code == 404


def test_a_household_activates_its_app_and_then_sees_only_its_own_ticket(
        gateway, services, ids):
    activated = gateway.post("/v1/app/activate", json={"activation_code": ids.activation_code})

    assert activated.status_code == 200
    assert activated.json()["household_id"] == ids.household_a
    ticket = gateway.get("/v1/app/me/ticket", token=activated.json()["access_token"])
    assert ticket.status_code == 200
    assert services.redemption.called("get_balance") == [
        ("get_balance", (ids.household_a,), {})]


def test_an_unknown_activation_code_is_a_404_and_no_token(gateway):
    response = gateway.post("/v1/app/activate", json={"activation_code": "NOPE-0000"})

    assert response.status_code == 404
    assert "access_token" not in response.text
