"""The API document (OpenAPI 3), written from what each route declares in :mod:`gateway.http`.

Nothing about a route is written twice: its path, who it serves, its body, query and answer
schemas and the stable error codes it can answer come from its ``@route`` declaration. The
errors every route of a kind can answer are added here, from what the route is:

    a route that needs a token      401 (no, bad or expired token, or its session ended),
                                    403 (role not served)
    an id in its path               404 (an unknown id, or another's: said the same way)
    a month in its path, a query    422
    a body                          400 (not JSON), 413 (too large), 415 (wrong type), 422
    personal data (X-Access-Reason) 422 (the reason is too long or not text)
    an answer from a service        503 (the service is away; Retry-After says when to retry)

and the declared codes add their own status (409 for a conflict, ...). Every error answer is
a problem details document (``application/problem+json``, :class:`gateway.schemas.Problem`).
"""

import re
from http import HTTPStatus

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shokudo_common.logs import CORRELATION_HEADER

from gateway import auth, schemas
from gateway.errors import PROBLEM_MEDIA_TYPE
from gateway.http import IDEMPOTENCY_HEADER
from gateway.sessions import SESSION_CODES
from gateway.trail import ACCESS_REASON_HEADER

TITLE = "Dokodemo Kodomo Shokudo API"
VERSION = "1"
# What the reader of the document is told first (the module's docstring is for engineers).
DESCRIPTION = """\
The HTTP API of ドコデモこども食堂: children in need eat, free and safely, at partner
restaurants near them, on a monthly meal ticket their support organisation arranges.

Staff sign in with `POST /v1/auth/sign-in`, a family's app with `POST /v1/app/activate`; both
answer a bearer token that each route below checks against the roles it serves. Another
party's id is answered exactly as an unknown one: 404. Every error is
`application/problem+json` with a stable `code` and the `correlation_id` to quote. Changes
that may be retried take an `Idempotency-Key` header: the same key again gets the first answer.
"""
OPENAPI_VERSION = "3.0.3"
BEARER = "bearer"

# The status of each stable code a route may declare; the services raise them.
CODE_STATUS = {
    "account_disabled": 401,
    "missing_token": 401,
    "invalid_token": 401,
    "app_signed_out": 401,
    "password_changed": 401,
    "session_expired": 401,
    "session_revoked": 401,
    "session_signed_out": 401,
    "invalid_credentials": 401,
    "invalid_refresh_token": 401,
    "refresh_token_reused": 401,
    "activation_code_invalid": 404,
    "activation_code_not_found": 404,
    "concern_not_found": 404,
    "household_not_found": 404,
    "organisation_not_found": 404,
    "program_not_found": 404,
    "redemption_not_found": 404,
    "restaurant_not_found": 404,
    "run_not_found": 404,
    "already_voided": 409,
    "concern_closed": 409,
    "household_already_there": 409,
    "organisation_other_region": 409,
    "card_in_use": 409,
    "card_not_found": 409,
    "external_ref_taken": 409,
    "household_cap_reached": 409,
    "household_channel_mismatch": 409,
    "household_status_conflict": 409,
    "household_withdrawn": 409,
    "idempotency_key_reused": 409,
    "household_not_active": 409,
    "month_not_over": 409,
    "no_ticket": 409,
    "no_cards_to_print": 409,
    "restaurant_status_conflict": 409,
    "statement_closed": 409,
    "void_window_closed": 409,
    "file_not_readable": 422,
    "file_too_large": 422,
    "import_columns_invalid": 422,
    "invalid_input": 422,
    "period_not_started": 422,
    "rate_limited": 429,
    "not_ready": 503,
    "too_many_failed_lookups": 429,
}

STATUS_MEANING = {
    400: "The body is not plain JSON (`invalid_json`): the detail says why.",
    401: "No token, a bad or expired one (`missing_token`, `invalid_token`, `token_expired`), "
         "or one whose session has ended (signed out, account disabled, password changed, a "
         "new activation code).",
    403: "The caller's role may not use this route (`forbidden_role`).",
    404: "No such id, or one the caller may not see (said the same way).",
    409: "The request conflicts with the state of things.",
    413: "The body is over 5 MB (`payload_too_large`).",
    415: "The body is not of a media type this route reads (`unsupported_media_type`).",
    422: "Some fields are missing or wrong (`invalid_input`); `errors` names each one.",
    429: "Too many requests (`rate_limited`): retry after `Retry-After` seconds.",
    503: "A service behind the gateway is away (`service_unavailable`); retry after "
         "`Retry-After` seconds with the same Idempotency-Key.",
}

# Headers some answers carry, as the API document describes them.
CORRELATION = {"description": "The request's correlation id: the caller's own X-Correlation-Id "
                              "or one made for it. Quote it when reporting a problem.",
               "required": True, "schema": {"type": "string"}}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "required": True, "schema": {"type": "integer", "minimum": 1}}}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}

# Answered by the gateway alone: no service behind them can be away.
GATEWAY_ONLY = {"/health", "/health/live", "/metrics", "/openapi.json", "/docs"}
PATH_VALUE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
IDS = set(schemas.PATH_IDS)


def openapi_path(url):
    """``/v1/regions/<region_id>/program`` as OpenAPI writes it: ``/v1/regions/{region_id}/…``."""
    return PATH_VALUE.sub(r"{\1}", url)


def path_names(url):
    return PATH_VALUE.findall(url)


def error_statuses(spec):
    """Every error status ``spec`` can answer, each with the codes known to give it."""
    statuses = {}

    def add(status, *codes):
        statuses.setdefault(status, set()).update(codes)

    if spec.serves is not auth.PUBLIC:
        add(401, "missing_token", "invalid_token", "token_expired", *SESSION_CODES)
        add(403, "forbidden_role")
    names = path_names(spec.url)
    for name in names:
        if name in IDS:
            add(404, name.removesuffix("_id") + "_not_found")
        else:
            add(422, "invalid_input")
    if spec.query is not None:
        add(422, "invalid_input")
    if spec.idempotent:
        add(409, "idempotency_key_reused")
        add(422, "invalid_input")
    if spec.personal_data:
        add(422, "invalid_input")
    if spec.accepts:
        add(413, "payload_too_large")
        add(415, "unsupported_media_type")
        add(422, "invalid_input")
    if spec.body is not None:
        add(400, "invalid_json")
    for code in spec.errors:
        add(CODE_STATUS[code], code)
    if spec.url not in GATEWAY_ONLY:
        add(503, "service_unavailable")
    return statuses


def build(routes):
    """The OpenAPI document of ``routes``, as a dict ready for JSON."""
    marshmallow = MarshmallowPlugin()
    document = APISpec(title=TITLE, version=VERSION, openapi_version=OPENAPI_VERSION,
                       plugins=[marshmallow], info={"description": DESCRIPTION})
    document.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer",
                                                 "bearerFormat": "JWT"})
    document.components.schema("Problem", schema=schemas.Problem)

    operations = {}
    for spec in routes:
        operations.setdefault(openapi_path(spec.url), {})[spec.method.lower()] = (
            _operation(spec, marshmallow.converter))
    for path, methods in operations.items():
        document.path(path=path, operations=methods)
    return document.to_dict()


def _operation(spec, converter):
    operation = {
        "operationId": spec.handler,
        "summary": spec.summary,
        "tags": [audience(spec.serves)],
        "parameters": _parameters(spec, converter),
        "responses": {str(spec.status): _success(spec), **_errors(spec)},
    }
    if spec.serves is not auth.PUBLIC:
        operation["security"] = [{BEARER: []}]
        operation["description"] = "Serves the roles: " + ", ".join(spec.serves) + "."
    else:
        operation["security"] = []
        operation["description"] = "Open to anyone, no token."
    if spec.accepts:
        operation["requestBody"] = {"required": True, "content": _body_content(spec)}
    return operation


def audience(serves):
    """The tag of a route: ``public``, or the narrowest role it serves (its audience)."""
    return "public" if serves is auth.PUBLIC else serves[-1]


def _parameters(spec, converter):
    fields = schemas.PathValues().fields
    parameters = [{"in": "path", "name": name, "required": True,
                   "schema": converter.field2property(fields[name])}
                  for name in path_names(spec.url)]
    if spec.query is not None:
        parameters.append({"in": "query", "schema": spec.query})
    if spec.idempotent:
        parameters.append(_optional_header(
            IDEMPOTENCY_HEADER, schemas.IdempotencyHeader().fields["key"], converter,
            "The same key again gets the first answer, and the change is made once: send it "
            "with every request you may have to retry."))
    if spec.personal_data:
        parameters.append(_optional_header(
            ACCESS_REASON_HEADER, schemas.AccessReasonHeader().fields["reason"], converter,
            "Why you open this household's records, kept in the access trail with who and "
            "when (up to 200 characters; percent-encode Japanese as UTF-8). Never a name or "
            "other personal detail."))
    return parameters


def _optional_header(name, field, converter, description):
    return {"in": "header", "name": name, "required": False,
            "schema": converter.field2property(field), "description": description}


def _body_content(spec):
    if spec.body is not None:
        return {media_type: {"schema": spec.body} for media_type in spec.accepts}
    return {media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in spec.accepts}


def _success(spec):
    if spec.produces != "application/json":
        return {"description": _meaning(spec.status), "headers": _headers(spec.status),
                "content": {spec.produces: {"schema": {"type": "string"}}}}
    content = {"schema": spec.answer} if spec.answer is not None else {"schema": {}}
    return {"description": _meaning(spec.status), "headers": _headers(spec.status),
            "content": {"application/json": content}}


def _headers(status):
    return {CORRELATION_HEADER: CORRELATION, **RESPONSE_HEADERS.get(status, {})}


def _meaning(status):
    return HTTPStatus(status).phrase


def _errors(spec):
    problem = {PROBLEM_MEDIA_TYPE: {"schema": "Problem"}}
    responses = {}
    for status, codes in sorted(error_statuses(spec).items()):
        meaning = STATUS_MEANING[status]
        responses[str(status)] = {
            "description": f"{meaning} Codes: {', '.join(sorted(codes))}.",
            "headers": _headers(status),
            "content": problem,
        }
    return responses
