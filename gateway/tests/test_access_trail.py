"""The access trail through the gateway: every route on personal data names who (from the
token), its purpose and the staff's reason; each trail is read only by those it concerns.

Which routes are on personal data is read from the route registry (``ROUTES``): every staff
route is called, and one that reaches enrollment's household methods must be declared
``personal_data`` and pass an accessor, so that a new route cannot be forgotten.
"""

import re
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from gateway import auth, trail
from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares every route

from care_fakes import CONCERN

CALLER = auth.Caller(auth.OPERATOR, staff_id="5d0c1a9e-1111-4000-8000-00000000000a")
REDEMPTION = "abababab-0000-4000-8000-0000000000ab"
CALLERS = ("operator", "organisation_a", "organisation_b", "restaurant", "household", None)


def households(ids):
    return f"/v1/organisations/{ids.organisation_a}/households"


def routes_on_personal_data(ids):
    """(method, path, body, the enrollment method called, the purpose it states)."""
    one = f"{households(ids)}/{ids.household_a}"
    return [
        ("POST", households(ids), {"external_ref": "A-9"}, "enrol_household", "enrolment"),
        ("GET", households(ids), None, "list_households", "caseload_review"),
        ("GET", one, None, "get_household", "case_review"),
        ("POST", f"{one}/suspend", None, "suspend_household", "status_change"),
        ("POST", f"{one}/reinstate", None, "reinstate_household", "status_change"),
        ("POST", f"{one}/withdraw", None, "withdraw_household", "status_change"),
        ("POST", f"{one}/card/replace", {"reason": "lost"}, "replace_card", "card_replacement"),
    ]


@pytest.mark.parametrize("caller, actor", [
    ("organisation_a", "organisation:aaaaaaaa-0000-4000-8000-000000000001:{account}"),
    ("operator", "operator:{account}"),
])
def test_each_route_on_personal_data_passes_who_why_and_the_staff_s_reason(
        gateway, services, token_for, ids, caller, actor):
    actor = actor.format(account=ids.account[caller])
    reason = "家庭訪問の前に連絡先を確認"
    for method, path, body, called, purpose in routes_on_personal_data(ids):
        response = gateway.request(method, path, token=token_for(caller), json=body,
                                   headers={"X-Access-Reason": quote(reason)})
        assert response.status_code in (200, 201), (path, response.text)

        [(_, accessor)] = [entry for entry in services.enrollment.accessors
                           if entry[0] == called and entry[1] is not None]
        assert accessor == {"actor": actor, "purpose": purpose, "reason": reason}


def test_an_import_states_its_purpose_and_no_reason_when_none_is_given(
        gateway, services, token_for, ids):
    gateway.post(f"{households(ids)}/import", token=token_for("organisation_a"),
                 data="管理番号\nA-001\n".encode(), headers={"Content-Type": "text/csv"})

    assert services.enrollment.accessors == [("import_households", {
        "actor": f"organisation:{ids.organisation_a}:{ids.account['organisation_a']}",
        "purpose": "spreadsheet_import",
        "reason": None})]


def test_a_reason_that_is_too_long_is_refused_before_enrollment_hears_of_it(
        gateway, services, token_for, ids):
    response = gateway.get(f"{households(ids)}/{ids.household_a}",
                           token=token_for("organisation_a"),
                           headers={"X-Access-Reason": "x" * 201})

    assert response.status_code == 422
    assert services.enrollment.called("get_household") == []


def test_an_organisation_reads_its_own_trail_and_never_another_s(
        gateway, services, token_for, ids):
    own = gateway.get(f"/v1/organisations/{ids.organisation_a}/audit",
                      token=token_for("organisation_a"))
    others = gateway.get(f"/v1/organisations/{ids.organisation_b}/audit",
                         token=token_for("organisation_a"))

    assert own.status_code == 200 and others.status_code == 404
    assert services.enrollment.called("access_trail") == [
        ("access_trail", ({"organisation_id": ids.organisation_a, "limit": 100},), {})]


def test_the_trail_answers_only_the_fields_it_declares(gateway, token_for, ids):
    page = gateway.get(f"/v1/organisations/{ids.organisation_a}/audit",
                       token=token_for("organisation_a")).json()

    [record] = page["records"]
    assert "kept_by_enrollment_only" not in record
    assert (record["fields"], record["household_ids"]) == (["address"], [ids.household_a])
    assert page["next_after"] is None


def test_the_trail_is_narrowed_by_household_time_and_page(gateway, services, token_for, ids):
    gateway.get(f"/v1/regions/{ids.region}/audit", token=token_for("operator"), params={
        "household_id": ids.household_a, "since": "2026-03-01T00:00:00+09:00",
        "until": "2026-04-01T00:00:00+09:00", "after": "40", "limit": "20"})

    [(_, (query,), _)] = services.enrollment.called("access_trail")
    assert query == {"region_id": ids.region, "household_id": ids.household_a,
                     "since": "2026-03-01T00:00:00+09:00", "until": "2026-04-01T00:00:00+09:00",
                     "after": 40, "limit": 20}


@pytest.mark.parametrize("params", [
    {"since": "yesterday"}, {"since": "2026-03-01T00:00:00"}, {"limit": "501"},
    {"household_id": "someone"},
])
def test_a_bad_trail_query_is_refused_by_name(gateway, services, token_for, ids, params):
    response = gateway.get(f"/v1/regions/{ids.region}/audit", token=token_for("operator"),
                           params=params)

    assert response.status_code == 422
    assert services.enrollment.called("access_trail") == []


def test_only_the_operator_reads_a_region_s_trail(gateway, token_for, ids):
    answered = [gateway.get(f"/v1/regions/{ids.region}/audit", token=token_for(caller))
                .status_code for caller in CALLERS]

    assert answered == [200, 403, 403, 403, 403, 401]


def test_a_signed_in_staff_member_is_named_in_the_trail_by_account(
        gateway, services, accounts, ids):
    account_id = accounts.create("aoba", "organisation", organisation_id=ids.organisation_a)
    token = gateway.post("/v1/auth/sign-in", json={"login": "aoba", "password": ids.password}
                         ).json()["access_token"]

    response = gateway.get(f"{households(ids)}/{ids.household_a}", token=token)

    assert response.status_code == 200
    [(_, accessor)] = services.enrollment.accessors
    assert accessor["actor"] == f"organisation:{ids.organisation_a}:{account_id}"


def test_only_a_route_declared_on_personal_data_may_build_an_accessor():
    undeclared = SimpleNamespace(path="/v1/somewhere", headers={}, personal_data=False)

    with pytest.raises(trail.UndeclaredRoute):
        trail.accessor(undeclared, CALLER, trail.CASE_REVIEW)


# -- every route of the registry, so that a new one cannot slip past the trail ---------------

REASON = "訪問前の確認"
PURPOSES = {value for name, value in vars(trail).items()
            if name.isupper() and isinstance(value, str) and name != "ACCESS_REASON_HEADER"}
# The body each route that reads one is sent; a new route with a body must be given one here.
BODIES = {
    "put_program": {"json": {"name": "星空区こども食堂"}},
    "create_organisation": {"json": {"name": "みらい会", "household_cap": 20,
                                     "contact_email": "info@mirai.example.org",
                                     "contact_phone": "03-0000-0000"}},
    "start_issuance_run": {"json": {"period": "2026-02"}},
    "suspend_restaurant": {"json": {"reason": "closed for works"}},
    "enrol_household": {"json": {"external_ref": "A-9"}},
    "replace_card": {"json": {"reason": "lost"}},
    "import_households": {"data": "管理番号\nA-001\n".encode(),
                          "headers": {"Content-Type": "text/csv"}},
    "nominate_restaurant": {"json": {"name": "みどり食堂"}},
    "block_card": {"json": {"reason": "stolen"}},
    "move_household": {"json": {"to_organisation_id": "bbbbbbbb-0000-4000-8000-000000000002"}},
    "redeem": {"json": {"bill_yen": 800, "card_number": "4539 5787 6362 1486"}},
    "raise_concern": {"json": {"category": "hunger", "note": "いつも空腹そう"}},
    "my_push_token": {"json": {"token": "device-token-of-the-app", "platform": "ios"}},
}
QUERIES = {"region_summary": {"month": "2026-03"}}
# The purpose some routes must state (every declared route states one of PURPOSES).
PURPOSE_OF = {"new_activation_code": trail.ACTIVATION_CODE,
              "acknowledge_concern": trail.CONCERN_REVIEW, "close_concern": trail.CONCERN_REVIEW,
              "get_household": trail.CASE_REVIEW, "export_households": trail.SPREADSHEET_EXPORT}
QUERIES = {"region_summary": {"month": "2026-03"}}
# The purpose some routes must state (every declared route states one of PURPOSES).
PURPOSE_OF = {"new_activation_code": trail.ACTIVATION_CODE,
              "acknowledge_concern": trail.CONCERN_REVIEW, "close_concern": trail.CONCERN_REVIEW,
              "get_household": trail.CASE_REVIEW, "export_households": trail.SPREADSHEET_EXPORT}
AUDIENCE_CALLER = {"operator": "operator", "organisation": "organisation_a",
                   "restaurant": "restaurant", "household": "household"}


def path_of(spec, ids):
    values = {"region_id": ids.region, "organisation_id": ids.organisation_a,
              "household_id": ids.household_a, "restaurant_id": ids.restaurant,
              "concern_id": CONCERN, "redemption_id": REDEMPTION, "month": "2026-03",
              "period": "2026-02"}
    return re.sub(r"<(\w+)>", lambda name: values[name.group(1)], spec.url)


STAFF_ROUTES = [spec for spec in ROUTES if spec.serves is not auth.PUBLIC]


def test_the_registrys_routes_on_personal_data_include_codes_and_concerns():
    declared = {spec.handler for spec in STAFF_ROUTES if spec.personal_data}

    assert set(PURPOSE_OF) <= declared
    assert len(declared) == 19


def test_every_route_with_a_body_is_given_one():
    with_body = {spec.handler for spec in STAFF_ROUTES if spec.body or spec.accepts}

    assert sorted(with_body - set(BODIES)) == []


@pytest.mark.parametrize("spec", STAFF_ROUTES, ids=lambda spec: spec.handler)
def test_a_route_reaches_personal_data_only_if_declared_and_then_names_who_why_and_the_reason(
        gateway, services, token_for, ids, spec):
    """Every route of the registry: one that calls enrollment on households' personal data is
    declared ``personal_data`` and passes the caller, a purpose and the staff's reason; one that
    is not declared calls none of those methods."""
    services.enrollment.households[ids.household_a]["external_ref"] = "A-001"
    caller = AUDIENCE_CALLER[auth_audience(spec)]
    sent = BODIES.get(spec.handler, {})
    headers = {"X-Access-Reason": quote(REASON), **sent.get("headers", {})}

    response = gateway.request(spec.method, path_of(spec, ids), token=token_for(caller),
                               headers=headers, params=QUERIES.get(spec.handler),
                               **{k: v for k, v in sent.items() if k != "headers"})

    assert response.status_code < 400, (spec.url, response.text)
    reached = services.enrollment.accessors
    if not spec.personal_data:
        assert reached == [], spec.url
        return
    assert reached, f"{spec.url} is declared on personal data but reached none"
    for method, accessor in reached:
        assert accessor is not None, (spec.url, method)
        assert accessor["actor"] == actor_of(caller, ids), spec.url
        assert accessor["purpose"] in PURPOSES and accessor["reason"] == REASON, spec.url
        assert accessor["purpose"] == PURPOSE_OF.get(spec.handler, accessor["purpose"])


def auth_audience(spec):
    return spec.serves[-1]


def actor_of(caller, ids):
    scope = {"organisation_a": [ids.organisation_a], "restaurant": [ids.restaurant]}
    role = caller.split("_")[0]
    return ":".join([role, *scope.get(caller, []), ids.account[caller]])
