"""What every service exposes for operations: ``/metrics`` and ``/health``.

Services inherit :class:`OperationalEndpoints`; nameko finds the inherited entrypoints and
dependencies. Per-entrypoint counts and latency histograms come from nameko-prometheus.
"""

import json

from nameko.web.handlers import http
from nameko_prometheus import PrometheusMetrics
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response


class OperationalEndpoints:
    metrics = PrometheusMetrics()

    @http("GET", "/metrics")
    def serve_metrics(self, request):
        return self.metrics.expose_metrics(request)

    @http("GET", "/health")
    def serve_health(self, request):
        """Ready when the database answers; the broker answered already to deliver the worker.

        An HTTP entrypoint does not prove the broker is up, so the container's RabbitMQ
        connection is checked by the readiness probe of issue 6, not here.
        """
        try:
            self.db.execute(text("SELECT 1"))
            status, body = 200, {"status": "ok", "service": self.name}
        except SQLAlchemyError:
            status, body = 503, {"status": "database_unavailable", "service": self.name}
        return Response(json.dumps(body), status=status, mimetype="application/json")
