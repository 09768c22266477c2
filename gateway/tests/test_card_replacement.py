"""Replacing a lost card through the gateway: organisation staff only, who asked taken from the
token, the Idempotency-Key scoped by the caller and passed on."""

import pytest

from request_keys import GENERATED_KEY

from shokudo_common.errors import Conflict, InvalidInput

CALLERS = ("operator", "organisation_a", "organisation_b", "restaurant", "household", None)
KEY = "replace-card-A-001"


def replace(gateway, ids, caller, token_for, body=None, headers=None, household=None):
    path = (f"/v1/organisations/{ids.organisation_a}/households/"
            f"{household or ids.household_a}/card/replace")
    return gateway.post(path, token=token_for(caller),
                        json={"reason": "lost"} if body is None else body,
                        headers=headers or {})


def test_only_the_operator_and_the_households_own_organisation_reach_it(
        gateway, token_for, ids):
    answered = [replace(gateway, ids, caller, token_for).status_code for caller in CALLERS]

    assert answered == [200, 200, 404, 403, 403, 401]


def test_the_reason_reaches_enrollment_with_who_asked_from_the_token(
        gateway, services, token_for, ids):
    response = replace(gateway, ids, "organisation_a", token_for,
                       body={"reason": "stolen", "replaced_by": "someone else"})

    assert response.status_code == 200
    assert response.json()["in_force_at_counter"] is True
    assert services.enrollment.called("replace_card") == [(
        "replace_card",
        (ids.organisation_a, ids.household_a, "stolen",
         f"organisation:{ids.organisation_a}:{ids.account['organisation_a']}"),
        {"idempotency_key": GENERATED_KEY},
    )]


def test_the_operator_is_recorded_as_the_operator(gateway, services, token_for, ids):
    replace(gateway, ids, "operator", token_for)

    [(_, args, _)] = services.enrollment.called("replace_card")
    assert args[3] == f"operator:{ids.account['operator']}"


def test_the_idempotency_key_is_scoped_by_the_caller_and_passed_on(
        gateway, services, token_for, ids):
    replace(gateway, ids, "organisation_a", token_for, headers={"Idempotency-Key": KEY})

    [(_, _, options)] = services.enrollment.called("replace_card")
    assert options == {"idempotency_key": f"organisation:{ids.organisation_a}:{KEY}"}


def test_another_organisations_household_is_not_found(gateway, services, token_for, ids):
    response = replace(gateway, ids, "organisation_a", token_for, household=ids.household_b)

    assert response.status_code == 404
    assert services.enrollment.called("replace_card") == []


@pytest.mark.parametrize("failure, status, code", [
    (InvalidInput("invalid_input", "reason: must be one of lost, stolen, damaged, other",
                  {"fields": {"reason": ["must be one of: lost, stolen, damaged, other"]}}),
     422, "invalid_input"),
    (Conflict("idempotency_key_reused", "this key was used for another request",
              {"idempotency_key": KEY}), 409, "idempotency_key_reused"),
    (Conflict("household_channel_mismatch", "the household uses the app, not the card",
              {"channel": "app"}), 409, "household_channel_mismatch"),
])
def test_what_enrollment_refuses_reaches_the_client_with_its_code(
        gateway, services, token_for, ids, failure, status, code):
    services.enrollment.failure = failure

    response = replace(gateway, ids, "organisation_a", token_for, body={"reason": "gone"})

    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_body_that_is_not_an_object_is_refused_before_enrollment(
        gateway, services, token_for, ids):
    response = replace(gateway, ids, "organisation_a", token_for, body=["lost"])

    assert response.status_code == 422
    assert services.enrollment.called("replace_card") == []
