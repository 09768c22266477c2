"""The Idempotency-Key header on requests that change money or state: checked, scoped by the
caller, passed on; what a service says about a reused key reaches the client as a 409."""

import pytest

from shokudo_common.errors import Conflict

KEY = "browser-tab-3-enrol-A-002"


def enrol(gateway, ids, caller, token_for, organisation=None, headers=None):
    organisation = organisation or ids.organisation_a
    return gateway.post(f"/v1/organisations/{organisation}/households",
                        token=token_for(caller), json={"external_ref": "A-002"},
                        headers=headers or {})


def import_file(gateway, ids, caller, token_for, headers=None, query=""):
    return gateway.post(f"/v1/organisations/{ids.organisation_a}/households/import{query}",
                        token=token_for(caller), data=b"A-001\r\n",
                        headers={"Content-Type": "text/csv", **(headers or {})})


def start_run(gateway, ids, caller, token_for, headers=None):
    return gateway.post(f"/v1/regions/{ids.region}/issuance-runs", token=token_for(caller),
                        json={"period": "2026-03"}, headers=headers or {})


def redeem(gateway, ids, caller, token_for, headers=None):
    return gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions",
                        token=token_for(caller), json={"bill_yen": 800, "qr_token": "t"},
                        headers=headers or {})


# (request, caller, service, method) for each route that takes a key and scopes it.
SCOPED_ROUTES = [
    (enrol, "organisation_a", "enrollment", "enrol_household"),
    (import_file, "organisation_a", "enrollment", "import_households"),
    (start_run, "operator", "issuance", "start_run"),
]


def sent_key(services, service, method):
    [(_, _, options)] = getattr(services, service).called(method)
    return options.get("idempotency_key")


@pytest.mark.parametrize("send, caller, service, method", SCOPED_ROUTES)
def test_the_key_reaches_the_service_scoped_by_the_caller(
        gateway, services, token_for, ids, send, caller, service, method):
    response = send(gateway, ids, caller, token_for, headers={"Idempotency-Key": KEY})

    assert response.status_code in (200, 201)
    scope = {"organisation_a": f"organisation:{ids.organisation_a}", "operator": "operator"}
    assert sent_key(services, service, method) == f"{scope[caller]}:{KEY}"


@pytest.mark.parametrize("send, caller, service, method", SCOPED_ROUTES)
def test_without_the_header_each_request_gets_a_key_of_its_own(
        gateway, services, token_for, ids, send, caller, service, method):
    # So that an RPC redelivered after a lost connection is applied once, not twice.
    send(gateway, ids, caller, token_for)
    send(gateway, ids, caller, token_for)

    keys = [options["idempotency_key"]
            for _, _, options in getattr(services, service).called(method)]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(":request-" in key for key in keys)


def test_the_operator_and_the_organisation_never_share_a_key(gateway, services, token_for, ids):
    enrol(gateway, ids, "organisation_a", token_for, headers={"Idempotency-Key": KEY})
    enrol(gateway, ids, "operator", token_for, headers={"Idempotency-Key": KEY})

    keys = [options["idempotency_key"]
            for _, _, options in services.enrollment.called("enrol_household")]
    assert len(set(keys)) == 2


def test_a_dry_run_passes_its_key_which_enrollment_ignores(gateway, services, token_for, ids):
    response = import_file(gateway, ids, "organisation_a", token_for, query="?dry_run=true",
                           headers={"Idempotency-Key": KEY})

    assert response.status_code == 200
    [(_, _, options)] = services.enrollment.called("import_households")
    assert options["dry_run"] is True


@pytest.mark.parametrize("bad_key", ["", "x" * 101, "café", "tab\there"])
@pytest.mark.parametrize("send, caller", [
    (enrol, "organisation_a"), (import_file, "organisation_a"), (start_run, "operator"),
    (redeem, "restaurant"),
])
def test_a_malformed_key_is_a_422_naming_the_header_and_reaches_no_service(
        gateway, services, token_for, ids, send, caller, bad_key):
    response = send(gateway, ids, caller, token_for, headers={"Idempotency-Key": bad_key})

    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {
        "Idempotency-Key": ["must be 1 to 100 printable ASCII characters"]}
    assert all(getattr(services, name).calls == [] for name in services.NAMES)


def test_a_key_of_100_printable_characters_with_spaces_is_taken(
        gateway, services, token_for, ids):
    key = "till 7 / bill 42 ~ " + "k" * 81

    response = start_run(gateway, ids, "operator", token_for, headers={"Idempotency-Key": key})

    assert response.status_code == 200
    assert sent_key(services, "issuance", "start_run") == f"operator:{key}"


def test_a_key_reused_for_another_request_is_a_409_naming_the_key(
        gateway, services, token_for, ids):
    scoped = f"organisation:{ids.organisation_a}:{KEY}"
    services.enrollment.failure = Conflict(
        "idempotency_key_reused", "this idempotency key was already used for a different "
        "request; send a new key with a new request", {"idempotency_key": scoped})

    response = enrol(gateway, ids, "organisation_a", token_for,
                     headers={"Idempotency-Key": KEY})

    assert response.status_code == 409
    error = response.json()
    assert error["code"] == "idempotency_key_reused"
    assert KEY in error["details"]["idempotency_key"]
