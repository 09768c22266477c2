"""Every failure becomes one HTTP status and one JSON body: ``{"error": {code, message, details}}``.

The services raise :mod:`shokudo_common.errors` classes that carry their own HTTP status; the
gateway adds the few failures only an HTTP edge can have (no token, a body that is not JSON or
is too big). Anything else is a fault of ours: the caller gets a 500 ``internal_error`` that
says nothing about internals, and nameko logs the traceback with the correlation id.
"""

from dataclasses import dataclass, field

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import ContainerBeingKilled, UnknownService
from werkzeug.exceptions import HTTPException

from shokudo_common.errors import ShokudoError

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


@dataclass(frozen=True)
class Problem:
    """What the caller is told about a failure."""

    status: int
    code: str
    message: str
    details: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def body(self):
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


# Failures raised by werkzeug's routing before any of our code runs.
ROUTING_PROBLEMS = {
    404: ("route_not_found", "there is no such route"),
    405: ("method_not_allowed", "this route does not accept that method"),
    413: ("payload_too_large", "the request body is too large"),
}


BROKER_ERRORS = (ConnectionError, OperationalError, AMQPError)


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
