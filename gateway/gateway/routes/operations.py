"""Health and metrics for the operations team."""

from marshmallow import Schema, fields

from shokudo_common.db import observe_pool
from shokudo_common.errors import Unavailable
from shokudo_common.operations import EntrypointMetrics, Readiness

from gateway.auth import PUBLIC
from gateway.http import route


class HealthAnswer(Schema):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class OperationsRoutes:
    entrypoint_metrics = EntrypointMetrics()
    readiness = Readiness()

    @route("GET", "/health", serves=PUBLIC, answer=HealthAnswer)
    def health(self, request, caller):
        """Alive and serving HTTP; each service behind reports its own health."""
        return {"status": "ok"}

    @route("GET", "/health/live", serves=PUBLIC, answer=HealthAnswer)
    def health_live(self, request, caller):
        """The process serves HTTP; nothing else is checked, so outages restart nothing."""
        return {"status": "ok", "checks": {}}

    @route("GET", "/health/ready", serves=PUBLIC, answer=HealthAnswer, errors=("not_ready",))
    def health_ready(self, request, caller):
        """The broker, which every request needs, and the gateway's own database answer."""
        checks = self.readiness.run(self.sessions.db)
        if any(result != "ok" for result in checks.values()):
            raise Unavailable("not_ready", "a dependency of the gateway does not answer",
                              {"checks": checks})
        return HealthAnswer().dump({"status": "ok", "checks": checks})

    @route("GET", "/metrics", serves=PUBLIC, produces="text/plain",
           errors=("missing_token", "invalid_token"))
    def serve_metrics(self, request, caller):
        """Prometheus metrics; with ``GATEWAY_METRICS_TOKEN`` set, only for that bearer token.

        The probes above stay open (an orchestrator has no token) and say only up or ready.
        """
        self.tokens.check_metrics(request)
        observe_pool(self.name, self.sessions.db)
        return self.metrics.expose_metrics(request)
