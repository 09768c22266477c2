"""JSON over HTTP on nameko: the route decorator, body parsing and every response's shape.

A request goes through the same steps on every route::

    werkzeug routing ── OPTIONS? preflight (204) ── no route? problem 404/405
          │
    JsonRoute ── worker ── size check ── token and its session (401) ── role (403)
          │       ── path values (404 / 422) ── scope of path, query and body ids (404)
          │       ── unknown query parameters (422) ── content type (415) ── the route's body
          │
    response ── JSON body or problem+json ── X-Correlation-Id, safety headers, CORS, always

Routes return plain data (``{...}`` for 200, ``(201, {...})``) or a ready werkzeug Response;
anything they raise is turned into a problem details answer by :mod:`gateway.errors`. Bodies
are read with ``request.get_data()`` and parsed here, never with ``request.get_json()``, whose
own 415 nameko would turn into a 500: the media type is checked here too, and refused as a
problem like any other.
"""

import json
import logging
import math
import re
import socket
import uuid
from dataclasses import dataclass
from functools import partial, wraps

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from prometheus_client import Counter
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as NoSuchRoute
from werkzeug.wrappers import Request, Response

from shokudo_common.errors import Forbidden, InvalidInput, NotFound, ShokudoError
from shokudo_common.logs import CORRELATION_HEADER, CORRELATION_KEY, new_correlation_id
from shokudo_common.validation import load, shared

from gateway import auth, errors, schemas, trail
from gateway.headers import Cors, secure

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
# Deeper than any body of ours (a restaurant's opening hours are 4 levels deep).
MAX_NESTING = 20
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
IDEMPOTENCY_HEADER = "Idempotency-Key"
JSON_TYPES = ("application/json",)
# The CSV import takes the spreadsheet's bytes as they are: tills and scripts send either.
CSV_TYPES = ("text/csv", "application/octet-stream")

ERROR_RESPONSES = Counter(
    "shokudo_gateway_error_responses_total",
    "Requests answered with an error, by the error's stable code",
    ["code"],
)
ACCESS_REFUSED = Counter(
    "shokudo_gateway_access_refused_total",
    "Requests refused before reaching a service: no or bad token, wrong role, another's id",
    ["reason"],
)


# -- responses -------------------------------------------------------------------------------

def json_response(payload, status=200, headers=None, mimetype="application/json"):
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, headers=headers, mimetype=mimetype)


def error_response(error, correlation_id):
    problem = errors.describe(error)
    ERROR_RESPONSES.labels(problem.code).inc()
    response = json_response(problem.body(correlation_id), problem.status, problem.headers,
                             mimetype=errors.PROBLEM_MEDIA_TYPE)
    response.headers[CORRELATION_HEADER] = correlation_id
    return response


# -- bodies ----------------------------------------------------------------------------------

def refuse_oversized(request):
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large()


def read_body(request):
    """The raw body, refused beyond the limit whether or not the client announced its size."""
    refuse_oversized(request)

    # werkzeug stops a chunked body quietly at exactly its limit: read one byte further, so
    # that a body over the limit is refused instead of cut short.
    request.max_content_length = MAX_BODY_BYTES + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large() from None
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    return body


def _too_large():
    return errors.PayloadTooLarge(
        "payload_too_large", f"the request body is over {MAX_BODY_BYTES // (1024 * 1024)} MB",
        {"max_bytes": MAX_BODY_BYTES},
    )


def check_media_type(request, accepts):
    """Refuse (415) a body sent as a type the route does not read, or with no type at all;
    a JSON route sent no body at all hears that first (400), whatever its type."""
    if JSON_TYPES[0] in accepts and _sent_nothing(request):
        raise _malformed(f"the request body is empty; send a JSON object as {JSON_TYPES[0]}")
    sent = request.mimetype
    json_like = sent.endswith("+json") and JSON_TYPES[0] in accepts
    if sent in accepts or json_like:
        return
    raise errors.UnsupportedMediaType(
        "unsupported_media_type",
        f"send the body as {' or '.join(accepts)}, not {sent or 'without a Content-Type'}",
        {"accepted": list(accepts)},
    )


def _sent_nothing(request):
    """No body: no length, or a length of 0, and not chunked. (eventlet takes a request that
    names no Content-Type for text/plain, so a bare POST would otherwise hear "not text/plain".)
    """
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return not chunked and not request.content_length


def json_body(request):
    """The body parsed as JSON, refused (400, saying why) unless it is plain, finite data.

    Beyond the grammar: no NaN or Infinity (nor numbers too large for a float), no key twice in
    one object (which of the two would count?), no nesting beyond ``MAX_NESTING`` levels, and
    no lone surrogate (half a character, which no database or log can hold).
    """
    raw = read_body(request)
    if not raw.strip():
        raise _malformed("the request body is empty; send JSON")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float,
                          object_pairs_hook=_object_without_repeated_keys)
    except RecursionError:
        raise _malformed(f"the request body is nested deeper than {MAX_NESTING} levels") from None
    except _NotPlainData as refusal:
        raise _malformed(f"the request body is not plain JSON: {refusal}") from None
    except json.JSONDecodeError as error:
        raise _malformed(f"the request body is not valid JSON: {error.msg} at line "
                         f"{error.lineno}, column {error.colno}") from None
    except ValueError:  # not UTF-8, or an integer of thousands of digits
        raise _malformed("the request body is not valid JSON text in UTF-8") from None
    _check_plain(body)
    return body


class _NotPlainData(ValueError):
    pass


def _malformed(message):
    return errors.MalformedRequest("invalid_json", message)


def _refuse_constant(name):
    # NaN and Infinity are not JSON, and no amount of yen is either.
    raise _NotPlainData(f"{name} is not a number")


def _finite_float(text):
    number = float(text)
    if not math.isfinite(number):
        raise _NotPlainData(f"{text} is too large a number")
    return number


def _object_without_repeated_keys(pairs):
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        named = ", ".join(key.encode("unicode_escape").decode("ascii") for key in repeated)
        raise _NotPlainData(f"the key {named} is given more than once")
    return dict(pairs)


def _check_plain(body):
    """Refuse nesting beyond MAX_NESTING and lone surrogates, walking without recursion."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            raise _malformed(f"the request body is nested deeper than {MAX_NESTING} levels")
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and LONE_SURROGATE.search(value):
            raise _malformed("the request body has a \\u escape that is half a character "
                             "(a lone surrogate); send the whole character")


def object_body(request):
    """A JSON object for a service to check field by field."""
    body = json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("invalid_input", "the request body must be a JSON object",
                           {"fields": {"body": ["must be a JSON object"]}})
    return body


def load_body(schema, request):
    return load(schema, json_body(request))


def load_query(schema, request):
    return load(schema, request.args.to_dict())


def refuse_unknown_query(request, query):
    """Refuse (422, by name) a query parameter the route does not read, as an unknown body
    field is: a misspelt ``?stauts=`` must not quietly answer everything."""
    schema = query() if isinstance(query, type) else query
    known = {field.data_key or name for name, field in schema.fields.items()} if schema else set()
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise InvalidInput(
            "invalid_input", "unknown query parameters: " + ", ".join(map(_printable, unknown)),
            {"fields": {_printable(name): ["Unknown field."] for name in unknown}})


def refuse_repeated_query(request):
    """Refuse (422, by name) a query parameter given twice: only the first would count, so
    ``?flags=a&flags=b`` would quietly search for ``a`` alone. Lists go comma-separated."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise InvalidInput(
            "invalid_input", "query parameters given more than once: "
            + ", ".join(map(_printable, repeated)),
            {"fields": {_printable(name): ["Given more than once; separate a list by commas."]
                        for name in repeated}})


def _printable(name):
    return name.encode("unicode_escape").decode("ascii")


def idempotency_key(request):
    """The client's ``Idempotency-Key`` header, checked (422 if malformed); None if absent."""
    offered = request.headers.get(IDEMPOTENCY_HEADER)
    if offered is None:
        return None
    return load(shared(schemas.IdempotencyHeader), {IDEMPOTENCY_HEADER: offered})["key"]


def keyed(request, caller):
    """The ``idempotency_key`` argument of a service call.

    The key is scoped by the caller, role and the id it acts for (``organisation:<id>:<key>``),
    so that two organisations, or an organisation and the operator, never share a key. A
    request without a key gets one of its own (see :func:`request_key`).
    """
    key = idempotency_key(request) or request_key()
    return {"idempotency_key": ":".join([caller.role, *caller.scope_claims().values(), key])}


def request_key():
    """A key for one request whose client sent none.

    RabbitMQ redelivers an RPC whose service lost its connection before answering, and the
    service then runs it again. With a key of its own, the second run finds the first one's
    answer instead of enrolling, issuing or paying twice. It protects nothing across the
    client's own retries: only the client's key can.
    """
    return "request-" + uuid.uuid4().hex


def with_idempotency_key(request, body):
    """``body`` with the key that makes a retry safe, from the body or the usual header.

    Redemption scopes the key itself: the request names the restaurant, which is the caller.
    """
    in_body = body.get("idempotency_key")
    in_header = idempotency_key(request)
    if in_body and in_header and in_body != in_header:
        raise InvalidInput(
            "invalid_input", "the idempotency key in the body and in the header differ",
            {"fields": {"idempotency_key": [f"differs from the {IDEMPOTENCY_HEADER} header"]}},
        )
    return {**body, "idempotency_key": in_body or in_header or request_key()}


# -- the entrypoint --------------------------------------------------------------------------

class JsonWsgiApp(WsgiApp):
    """nameko's WSGI app: problem answers for routes that do not exist, preflights, and the
    headers every answer carries (:mod:`gateway.headers`)."""

    def __init__(self, server):
        super().__init__(server)
        self.cors = Cors.from_config(server.container.config)

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # eventlet decodes chunked bodies and ends its input with them; werkzeug reads
            # nothing from a body of unknown length unless the server says so.
            environ.setdefault("wsgi.input_terminated", True)
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        response = self._answer(request, adapter)
        return self.cors.decorate(secure(response), request.headers.get("Origin"))(
            environ, start_response)

    def _answer(self, request, adapter):
        if request.method == "OPTIONS":
            return self._options(request, adapter)
        try:
            provider, values = adapter.match()
        except HTTPException as failure:
            if failure.code and failure.code < 400:  # a redirect (a trailing slash): keep it
                return failure.get_response()
            return error_response(failure, new_correlation_id())
        request.path_values = values
        return provider.handle_request(request)

    def _options(self, request, adapter):
        """A preflight, or a client asking what a route allows: answered without a worker."""
        methods = set(adapter.allowed_methods()) - {"OPTIONS"}
        if not methods:
            return error_response(NoSuchRoute(), new_correlation_id())
        return self.cors.preflight(request.headers.get("Origin"), methods)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def run(self):
        """nameko's accept loop, with Nagle's algorithm off on every connection.

        eventlet writes an answer's status line, headers and body in separate sends once it
        outgrows the write buffer; with Nagle on, the body then waits for the client's delayed
        acknowledgement of the headers, 40 ms on Linux: a nearby search answered in 56 ms
        where its work took 12. Answers are whole when written; holding them back gains nothing.
        """
        while self._is_accepting:
            sock, address = self._sock.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self._serv.socket_timeout)
            self.container.spawn_managed_thread(partial(self.process_request, sock, address))


class JsonRoute(HttpRequestHandler):
    """An ``@http`` entrypoint whose every answer is JSON and carries the correlation id."""

    server = JsonWebServer()

    def handle_request(self, request):
        request.shallow = False
        answered = Event()
        try:
            context_data = self.server.context_data_from_headers(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, answered))
        # No worker ran (the service is stopping): nothing to log but the answer.
        except Exception as failure:  # noqa: BLE001 - every failure gets a problem answer
            return error_response(failure, new_correlation_id())
        return answered.wait()

    def handle_result(self, answered, worker_ctx, result, exc_info):
        correlation_id = worker_ctx.data.get(CORRELATION_KEY) or new_correlation_id()
        try:
            if exc_info is None:
                response = self.response_from_result(result)
            else:
                response = error_response(exc_info[1], correlation_id)
        # A result that cannot be rendered is a bug of ours; it must not hang the request.
        except Exception as failure:  # noqa: BLE001
            log.exception("could not render the answer")
            response = error_response(failure, correlation_id)
        response.headers[CORRELATION_HEADER] = correlation_id
        # nameko's own access line is written outside the worker, without the id: this one
        # carries it, with the route as declared (ids in the path are not repeated).
        log.info("request answered", extra={
            "method": self.method, "route": self.url, "status": response.status_code,
            "correlation_id": correlation_id,
        })
        answered.send(response)
        # Dependencies (metrics) see the answer as sent, with its real status code.
        return response, None

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            status, payload = result
            return json_response(payload, status)
        return json_response(result)

    def response_from_exception(self, exc):
        return error_response(exc, new_correlation_id())


@dataclass(frozen=True)
class RouteSpec:
    """What a route declares about itself, read by the OpenAPI document.

    ``body``, ``query`` and ``answer`` are marshmallow schemas (classes or instances, ``answer``
    may be ``many=True``); ``idempotent`` says the route reads an ``Idempotency-Key``;
    ``accepts`` the media types of the body (JSON when there is a
    ``body`` schema); ``produces`` the media type of a successful answer; ``status`` is the
    status of a successful answer and ``errors`` the stable codes the route can answer with
    beyond those every route has (see :mod:`gateway.openapi`).
    """

    method: str
    url: str
    serves: tuple | None
    handler: str
    summary: str
    body: object = None
    query: object = None
    answer: object = None
    status: int = 200
    errors: tuple = ()
    accepts: tuple = ()
    produces: str = "application/json"
    idempotent: bool = False
    # The path values checked against the caller's scope (body values are checked too).
    scoped_ids: tuple = ()
    # Reaches a household's personal data in enrollment: reads X-Access-Reason for the trail.
    personal_data: bool = False


# Every route declared, in the order the modules declared them.
ROUTES = []


def route(method, url, serves, *, body=None, query=None, answer=None, status=200, errors=(),
          accepts=None, produces="application/json", idempotent=False, personal_data=False):
    """Declare a route, the roles it serves (``auth.PUBLIC`` for anyone) and its shapes.

    A route that reads a body refuses (415) any other media type than ``accepts``, which is
    JSON for a route with a ``body`` schema. A route with ``personal_data`` reaches households'
    personal data and passes enrollment an accessor (:func:`gateway.trail.accessor`); its
    ``X-Access-Reason`` header is checked (422) before the route runs, and only such a route
    may build an accessor.

    The decorated method is called as ``handler(self, request, caller, **path_values)`` once
    the caller is admitted and the path values are checked; ``caller`` is None on public
    routes. The service must have a ``tokens`` dependency (:class:`gateway.auth.Tokens`).
    """
    auth.check_declaration(url, serves)
    accepts = tuple(accepts or (JSON_TYPES if body is not None else ()))

    def decorate(handler):
        summary = (handler.__doc__ or handler.__name__.replace("_", " ")).strip().split("\n")[0]
        scoped = tuple(name for name in auth.SCOPED_IDS if f"<{name}>" in url)
        ROUTES.append(RouteSpec(method, url, serves, handler.__name__, summary, body, query,
                                answer, status, tuple(errors), accepts, produces, idempotent,
                                scoped, personal_data))

        @wraps(handler)
        def guarded(self, request, **path):
            refuse_oversized(request)
            caller = None
            if serves is not auth.PUBLIC:
                caller = _admitted(self, request, url, serves)
            values = schemas.parse_path(path)
            if caller is not None:
                _in_scope(self, request, url, caller, values)
            refuse_unknown_query(request, query)
            refuse_repeated_query(request)
            if accepts:
                check_media_type(request, accepts)
            request.personal_data = personal_data
            if personal_data:
                trail.access_reason(request)
            return handler(self, request, caller, **values)

        return JsonRoute.decorator(method, url, expected_exceptions=ShokudoError)(guarded)

    return decorate


def _admitted(service, request, url, serves):
    caller = None
    try:
        caller = service.tokens.caller_of(request)
        service.sessions.check_live(caller)
        auth.check_role(caller, serves)
    except (errors.Unauthenticated, Forbidden) as refusal:
        _refused(url, caller, refusal.code)
        raise
    return caller


def _in_scope(service, request, url, caller, path):
    """Every id the path, the query or a JSON body names is the caller's own, or the 404 of an
    unknown id."""
    region_of = partial(_region_of, service)
    query = {name: request.args[name] for name in auth.SCOPED_IDS if name in request.args}
    try:
        for named in (path, query, scoped_ids_in_body(request)):
            auth.check_scope(caller, named, region_of)
    except NotFound:
        # Counted apart from ids that do not exist (the caller cannot tell them apart).
        _refused(url, caller, "out_of_scope")
        raise


def _refused(url, caller, reason):
    ACCESS_REFUSED.labels(reason).inc()
    log.info("access refused", extra={
        "reason": reason, "route": url, "role": caller.role if caller else None,
    })


def scoped_ids_in_body(request):
    """The ids a JSON object body names (``organisation_id``…); none for any other body."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return {}
    raw = read_body(request)
    if not raw.lstrip().startswith(b"{"):
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return {}  # the route itself says what is wrong with it
    return {name: body[name] for name in auth.SCOPED_IDS if isinstance(body.get(name), str)}


def _region_of(service, name, value):
    """The region of an organisation or a restaurant, for an operator limited to regions."""
    if name == "organisation_id":
        return service.enrollment.get_organisation(value)["region_id"]
    return service.directory.get_restaurant(value)["region_id"]
