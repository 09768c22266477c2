"""Every failure becomes one HTTP status and one problem details body (RFC 9457).

The body is ``application/problem+json``::

    {"type": "urn:shokudo:problem:<code>", "title": "<English title>",
     "title_ja": "<日本語の見出し>", "status": 422,
     "detail": "<the sentence for people>", "code": "<code>", "correlation_id": "…",
     "errors": [{"field": "opening_hours.mon.0.opens", "message": "HH:MM"}],   # 422 only
     "details": {…}}                                   # limits, ids, retry hints; may be {}

The services raise :mod:`shokudo_common.errors` classes that carry their own HTTP status; the
gateway adds the few failures only an HTTP edge can have (no token, a body that is not JSON or
is too big). Anything else is a fault of ours: the caller gets a 500 ``internal_error`` that
says nothing about internals, and nameko logs the traceback with the correlation id.
"""

from dataclasses import dataclass, field

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import ContainerBeingKilled, RemoteError, UnknownService
from werkzeug.exceptions import HTTPException

from shokudo_common.errors import ShokudoError

from gateway import problems

# Seconds a client should wait before retrying when a service is away and did not say.
DEFAULT_RETRY_AFTER_SECONDS = 5


class Unauthenticated(ShokudoError):
    """No token, or one that is forged, malformed or expired (401)."""

    http_status = 401


class TooManyRequests(ShokudoError):
    """A rate limit was reached (429); ``details.retry_after_seconds`` says how long to wait."""

    http_status = 429


class MalformedRequest(ShokudoError):
    """The body cannot even be read as JSON (400)."""

    http_status = 400


class PayloadTooLarge(ShokudoError):
    """The body is over the gateway's limit (413)."""

    http_status = 413


class UnsupportedMediaType(ShokudoError):
    """The body is sent as a type the route does not read (415)."""

    http_status = 415


PROBLEM_MEDIA_TYPE = "application/problem+json"
# A URN names each kind of problem for good, whatever host serves the API; the API document
# names the codes each route can answer.
PROBLEM_TYPE_PREFIX = "urn:shokudo:problem:"


@dataclass(frozen=True)
class Problem:
    """What the caller is told about a failure."""

    status: int
    code: str
    message: str
    details: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def body(self, correlation_id):
        """The problem details document, with the request's correlation id."""
        title, title_ja = problems.titles_of(self.code)
        body = {
            "type": PROBLEM_TYPE_PREFIX + self.code,
            "title": title,
            "title_ja": title_ja,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
            "correlation_id": correlation_id,
        }
        field_errors = list(field_messages(self.details.get("fields")))
        if field_errors:
            body["errors"] = field_errors
        body["details"] = self.details
        return body


def field_messages(messages, path=()):
    """marshmallow's nested messages as a flat list of ``{field, message}``, dotted paths.

    ``_schema`` (a rule across fields) is reported on the object that holds them, ``body``
    when that object is the whole body.
    """
    if messages is None:
        return
    if isinstance(messages, dict):
        for key, value in messages.items():
            inner = path if key == "_schema" else (*path, str(key))
            yield from field_messages(value, inner)
        return
    if isinstance(messages, (list, tuple)):
        for message in messages:
            yield from field_messages(message, path)
        return
    yield {"field": ".".join(path) or "body", "message": str(messages)}


# Failures raised by werkzeug's routing before any of our code runs.
ROUTING_PROBLEMS = {
    404: ("route_not_found", "there is no such route"),
    405: ("method_not_allowed", "this route does not accept that method"),
    413: ("payload_too_large", "the request body is too large"),
    415: ("unsupported_media_type", "the request body is not of a type this route reads"),
}


BROKER_ERRORS = (ConnectionError, OperationalError, AMQPError)
# What SQLAlchemy raises in a service when PostgreSQL refuses or drops its connection.
DATABASE_UNAVAILABLE = ("OperationalError",)


def describe(error):
    """The Problem for ``error``, whatever raised it."""
    if isinstance(error, ShokudoError):
        return _domain_problem(error)

    # No replica of the service is listening (not deployed yet, all restarting): try again.
    if isinstance(error, UnknownService):
        return _unavailable(Problem(503, "service_unavailable",
                                    f"the {error.args[0]} service is not running; try again "
                                    "shortly", {"service": error.args[0]}))

    # The broker cannot be reached (restarting, network): the request did not get through, or
    # its answer did not come back; a retry with the same Idempotency-Key is safe either way.
    if isinstance(error, BROKER_ERRORS):
        return _unavailable(Problem(503, "service_unavailable",
                                    "the platform's message broker cannot be reached; try "
                                    "again shortly with the same Idempotency-Key"))

    # A service's database is unreachable or out of connections: a passing state, like the
    # broker's. Anything else a service did not expect stays a 500 below.
    if isinstance(error, RemoteError) and error.exc_type in DATABASE_UNAVAILABLE:
        return _unavailable(Problem(503, "service_unavailable",
                                    "a service's database cannot be reached; try again shortly "
                                    "with the same Idempotency-Key"))

    # This gateway replica is shutting down; another one will answer.
    if isinstance(error, ContainerBeingKilled):
        return _unavailable(Problem(503, "service_unavailable",
                                    "the gateway is restarting; try again shortly"))

    if isinstance(error, HTTPException) and error.code:
        code, message = ROUTING_PROBLEMS.get(error.code, ("http_error", "the request failed"))
        # Keep what the client needs (Allow on a 405); the body is ours, so is its type.
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() != "content-type"}
        return Problem(error.code, code, message, headers=headers)

    return Problem(500, "internal_error", "something went wrong on our side; "
                   "quote the X-Correlation-Id header when you report it")


def _domain_problem(error):
    problem = Problem(error.http_status, error.code, error.message, dict(error.details))
    if error.http_status in (429, 503):
        return _unavailable(problem)
    if error.http_status == 401:
        return _with_headers(problem, {"WWW-Authenticate": 'Bearer realm="shokudo"'})
    return problem


def _unavailable(problem):
    wait = problem.details.get("retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS)
    if not isinstance(wait, int) or isinstance(wait, bool) or wait < 1:
        wait = DEFAULT_RETRY_AFTER_SECONDS
    return _with_headers(problem, {"Retry-After": str(wait)})


def _with_headers(problem, headers):
    return Problem(problem.status, problem.code, problem.message, problem.details,
                   {**problem.headers, **headers})
