"""What every service exposes for operations: ``/metrics`` and its health.

Services inherit :class:`OperationalEndpoints`; nameko finds the inherited entrypoints and
dependencies. Per-entrypoint counts and latency histograms come from nameko-prometheus; the
gauges read from the service's own tables (parked messages, outbox backlog, and whatever a
service registers with :func:`shokudo_common.gauges.on_scrape`) are refreshed on each scrape.

Health, for Kubernetes' probes and compose's health checks:

- ``/health/live``: the process serves HTTP. Nothing else is checked, so that a database or
  broker outage never makes the orchestrator restart every replica at once.
- ``/health/ready``: the broker accepts a connection and the database answers ``SELECT 1``,
  each within ``HEALTH_CHECK_TIMEOUT_SECONDS`` (config, default 2). 503 names what failed.
- ``/health``: the readiness answer, kept for the tools that already ask it.
"""

import json
import logging
import time
from weakref import WeakKeyDictionary

import eventlet
from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from nameko_prometheus import PrometheusMetrics
from prometheus_client import Counter, Histogram
from sqlalchemy import text
from werkzeug.wrappers import Response

from shokudo_common import db, gauges
from shokudo_common.errors import ShokudoError, Unavailable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 2.0
TIMEOUT_CONFIG_KEY = "HEALTH_CHECK_TIMEOUT_SECONDS"

# Golden signals with one name across services (nameko-prometheus prefixes its metrics with
# the service's name and does not count failures): traffic and latency from the histogram,
# errors from the outcome. A refusal the caller caused (invalid input, not found, conflict…)
# is "refused", not an error of ours; Unavailable (a service behind did not answer) is one.
# The gateway turns every failure into a response, so its outcomes are all "ok": its errors
# are in gateway_http_requests_total by status code.
ENTRYPOINT_CALLS = Counter(
    "shokudo_entrypoint_calls_total",
    "Entrypoint calls (RPC, event handler, timer, HTTP) by outcome: ok, refused or error",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_DURATION = Histogram(
    "shokudo_entrypoint_duration_seconds",
    "Time an entrypoint's worker took, whatever its outcome",
    ["service", "entrypoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class EntrypointMetrics(DependencyProvider):
    """Counts every worker's outcome and times it, per service and entrypoint."""

    def __init__(self):
        self.started = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint.method_name
        ENTRYPOINT_CALLS.labels(service, entrypoint, outcome_of(exc_info)).inc()
        if started is not None:
            ENTRYPOINT_DURATION.labels(service, entrypoint).observe(
                time.perf_counter() - started)


def outcome_of(exc_info):
    if exc_info is None:
        return "ok"
    error = exc_info[1]
    refused = isinstance(error, ShokudoError) and not isinstance(error, Unavailable)
    return "refused" if refused else "error"


class Readiness(DependencyProvider):
    """Checks, on demand, that the broker and (when given) the database answer quickly."""

    def setup(self):
        config = self.container.config
        self.amqp_uri = config[AMQP_URI_CONFIG_KEY]
        self.timeout = float(config.get(TIMEOUT_CONFIG_KEY, DEFAULT_TIMEOUT_SECONDS))

    def get_dependency(self, worker_ctx):
        return ReadinessCheck(self.amqp_uri, self.timeout)


class ReadinessCheck:
    def __init__(self, amqp_uri, timeout):
        self.amqp_uri = amqp_uri
        self.timeout = timeout

    def run(self, session=None):
        """``{"broker": "ok"|"failed", "database": ...}``; the database only when given."""
        checks = {"broker": self._check("broker", self._broker)}
        if session is not None:
            checks["database"] = self._check("database", lambda: self._database(session))
        return checks

    def _check(self, name, probe):
        # A green timeout bounds a connect that hangs (a dropped packet, a firewall), which
        # the drivers' own timeouts do not always cover.
        try:
            with eventlet.Timeout(self.timeout):
                probe()
            return "ok"
        except (Exception, eventlet.Timeout) as error:  # noqa: BLE001 - any failure is "not ready"
            log.warning("readiness check failed",
                        extra={"check": name, "error": type(error).__name__})
            return "failed"

    def _broker(self):
        # A connection of its own: nameko's consumer reconnects by itself and keeps its
        # connection private. One short connection per probe is a light load for RabbitMQ.
        with Connection(self.amqp_uri, connect_timeout=self.timeout) as connection:
            connection.ensure_connection(max_retries=1)

    def _database(self, session):
        try:
            session.execute(text("SELECT 1"))
        finally:
            session.rollback()


def health_response(service_name, checks):
    """200 when every check passed, else 503; the body names each check's result."""
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ready else "unavailable", "service": service_name,
            "checks": checks}
    return Response(json.dumps(body), status=200 if ready else 503,
                    mimetype="application/json")


class OperationalEndpoints:
    metrics = PrometheusMetrics()
    entrypoint_metrics = EntrypointMetrics()
    readiness = Readiness()

    @http("GET", "/metrics")
    def serve_metrics(self, request):
        db.observe_pool(self.name, self.db)
        gauges.refresh(self.name, self.db, getattr(self, "clock", None))
        return self.metrics.expose_metrics(request)

    @http("GET", "/health/live")
    def serve_liveness(self, request):
        return health_response(self.name, {})

    @http("GET", "/health/ready")
    def serve_readiness(self, request):
        return health_response(self.name, self.readiness.run(self.db))

    @http("GET", "/health")
    def serve_health(self, request):
        return health_response(self.name, self.readiness.run(self.db))
