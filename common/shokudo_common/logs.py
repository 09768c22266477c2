"""Structured JSON logs that carry a correlation id from the gateway through every RPC and event.

The id travels in nameko's context data (``correlation_id``), so RPC calls and events
dispatched from a worker carry it without any code in the services. The outbox stores it with
each event and the relay puts it back on the message. Log lines hold ids and amounts only:
never a name, address, phone number or email.
"""

import contextvars
import logging
import uuid

from nameko.extensions import DependencyProvider
from pythonjsonlogger.json import JsonFormatter

CORRELATION_KEY = "correlation_id"
CORRELATION_HEADER = "X-Correlation-Id"

_current = contextvars.ContextVar("correlation_id", default=None)


def current_correlation_id():
    return _current.get()


def new_correlation_id():
    return uuid.uuid4().hex


class CorrelationFilter(logging.Filter):
    """Adds the worker's correlation id (or none) to every record that names none itself.

    A line may name another one (``extra={"correlation_id": ...}``): a message sent by a timer
    long after the request that caused it is logged with that request's id.
    """

    def filter(self, record):
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = _current.get()
        return True


class ShokudoJsonFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, correlation id, extra fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", True)
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(correlation_id)s", *args, **kwargs
        )


def _incoming_id(worker_ctx):
    known = worker_ctx.context_data.get(CORRELATION_KEY)
    if known:
        return known
    request = worker_ctx.args[0] if worker_ctx.args else None
    headers = getattr(request, "headers", None)
    offered = headers.get(CORRELATION_HEADER) if headers is not None else None
    if offered and len(offered) <= 64 and offered.isascii() and offered.isprintable():
        return offered
    return new_correlation_id()


class CorrelationId(DependencyProvider):
    """Gives each worker a correlation id: the caller's, the HTTP header's, or a new one."""

    def worker_setup(self, worker_ctx):
        correlation_id = _incoming_id(worker_ctx)
        worker_ctx.data[CORRELATION_KEY] = correlation_id
        _current.set(correlation_id)

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get(CORRELATION_KEY)


def logging_config(level="INFO"):
    """A dictConfig that sends JSON lines to stderr; nameko services load it from YAML too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": "shokudo_common.logs.CorrelationFilter"}},
        "formatters": {"json": {"()": "shokudo_common.logs.ShokudoJsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["correlation"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }
