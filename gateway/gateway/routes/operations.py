"""Health and metrics for the operations team."""

from gateway import schemas
from gateway.auth import PUBLIC
from gateway.http import route


class OperationsRoutes:
    @route("GET", "/health", serves=PUBLIC, answer=schemas.Health)
    def health(self, request, caller):
        """Alive and serving HTTP; each service behind reports its own health."""
        return {"status": "ok"}

    @route("GET", "/metrics", serves=PUBLIC, produces="text/plain")
    def serve_metrics(self, request, caller):
        return self.metrics.expose_metrics(request)
