"""The gateway against its own API document, with the real services behind it.

Schemathesis reads ``/openapi.json`` and, for every operation, sends requests generated from
what the document says the operation reads; each answer must be no 5xx, have a status the
document lists for the operation, the media type it names, the headers it promises and a body
its schema allows. Then
it sends bodies, queries and headers the document refuses (wrong types, missing, extra or
out-of-range fields, an X-Access-Reason too long): each must be refused with a documented 4xx,
never accepted (Schemathesis's ``negative_data_rejection``).

Ids in paths are those of a region opened for this test (its organisation, restaurant and a
household), and each operation is called with a token of the audience it serves, so requests
reach the services instead of stopping at a 401 or a 404. What the bodies hold is left to the
generator, so most of them are refused by a service's own rules (documented 4xx) and some are
accepted and change the region: that is why it has a region of its own.

The number of examples per operation is bounded (``CASES_PER_OPERATION``) so that the whole
test stays near a minute on a 2-core machine; ``SHOKUDO_CONTRACT_CASES=200`` explores further,
and ``SHOKUDO_CONTRACT_RANDOM=1`` explores other examples than the fixed ones of every run.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway import auth, openapi
from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares every route

from regions import open_region

pytestmark = pytest.mark.integration

REGION = "contract-ku"
CASES_PER_OPERATION = int(os.environ.get("SHOKUDO_CONTRACT_CASES", "12"))
NEGATIVE_CASES_PER_OPERATION = max(1, CASES_PER_OPERATION // 2)
# The same examples every run by default, so that a failure is never a matter of luck.
FIXED_EXAMPLES = os.environ.get("SHOKUDO_CONTRACT_RANDOM") != "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def contract_region(stack, gateway, operator):
    """A region with its program, organisation, an approved restaurant and an app household."""
    region = open_region(stack, gateway, operator, REGION)
    [household] = region.enrol(1, channel="app", email="family@contract-ku.example.jp")
    restaurant = region.restaurants[0]
    tokens = {
        "operator": operator.token,
        "organisation": region.staff.token,
        "restaurant": region.counter(restaurant).token,
        "household": region.family(household).token,
    }
    path_ids = {
        "region_id": REGION,
        "organisation_id": region.organisation["id"],
        "restaurant_id": restaurant["id"],
        "household_id": household["id"],
    }
    return {"tokens": tokens, "path_ids": path_ids}


@pytest.fixture(scope="module")
def api_document(stack, contract_region):
    return schemathesis.openapi.from_url(stack.gateway_url + "/openapi.json")


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.handler)
def test_every_answer_is_as_the_document_says(route, api_document, stack, contract_region):
    """Requests the document allows: every answer as documented, whatever the status."""
    check_operation(route, api_document, stack, contract_region, GenerationMode.POSITIVE,
                    CASES_PER_OPERATION, CHECKS)


@pytest.mark.parametrize("route", [route for route in ROUTES if route.body or route.query],
                         ids=lambda route: route.handler)
def test_requests_the_document_refuses_are_refused_as_documented(
        route, api_document, stack, contract_region):
    """Bodies and queries the document does not allow (wrong types, missing or extra fields,
    out of range): refused with a documented 4xx, never a 5xx."""
    check_operation(route, api_document, stack, contract_region, GenerationMode.NEGATIVE,
                    NEGATIVE_CASES_PER_OPERATION, CHECKS + [negative_data_rejection])


def check_operation(route, api_document, stack, contract_region, mode, cases, checks):
    operation = api_document[openapi.openapi_path(route.url)][route.method]
    ids = contract_region["path_ids"]
    path = {name: ids[name] for name in openapi.path_names(route.url) if name in ids}
    headers = {}
    if route.serves is not auth.PUBLIC:
        token = contract_region["tokens"][openapi.audience(route.serves)]
        headers["Authorization"] = f"Bearer {token}"

    @settings(max_examples=cases, deadline=None, database=None,
              derandomize=FIXED_EXAMPLES, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode, path_parameters=path or None))
    def answers_as_documented(case):
        case.call_and_validate(base_url=stack.gateway_url, headers=headers, checks=checks,
                               timeout=30)

    answers_as_documented()
