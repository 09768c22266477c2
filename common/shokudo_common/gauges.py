"""Gauges read from a service's own tables each time Prometheus scrapes it.

Counters say what happened in one process since it started; some questions are about the
state of the service's database instead, whichever replica answers: how many messages are
parked, how many events wait in the outbox and for how long. Every replica reports the same
value, so dashboards and alerts take ``max by (service)``.

A service adds its own state gauges with :func:`on_scrape` in its ``metrics.py``::

    @gauges.on_scrape("issuance")
    def issuance_state(session, now):
        ...

The queries are small (a partial index serves the outbox's) and bounded by a statement
timeout, so a slow database cannot hold the scrape.
"""

import logging

from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shokudo_common.clock import SystemClock

log = logging.getLogger(__name__)

PARKED_MESSAGES = Gauge(
    "shokudo_parked_messages",
    "Messages parked after failing every attempt and not yet replayed",
    ["service"],
)
OUTBOX_PENDING = Gauge(
    "shokudo_outbox_pending_events",
    "Events staged in the outbox and not yet published to RabbitMQ",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "shokudo_outbox_oldest_pending_age_seconds",
    "Age of the oldest event still waiting in the outbox (0 when none waits)",
    ["service"],
)
REFRESH_FAILURES = Counter(
    "shokudo_state_refresh_failures_total",
    "Scrapes whose database gauges could not be read (they keep their previous values)",
    ["service"],
)

STATEMENT_TIMEOUT_MS = 1000
MESSAGING_STATE = text(
    "SELECT (SELECT count(*) FROM parked_messages WHERE replayed_at IS NULL) AS parked,"
    " count(*) AS pending,"
    " COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS oldest_age"
    " FROM outbox WHERE published_at IS NULL"
)

_collectors = {}


def on_scrape(service_name):
    """Register ``collect(session, now)`` to run on every scrape of ``service_name``."""

    def register(collect):
        _collectors.setdefault(service_name, []).append(collect)
        return collect

    return register


def refresh(service_name, session, clock=None):
    """Set the messaging gauges and the service's own from its database; never raises."""
    now = (clock or SystemClock()).now()
    try:
        session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        state = session.execute(MESSAGING_STATE).one()
        PARKED_MESSAGES.labels(service_name).set(state.parked)
        OUTBOX_PENDING.labels(service_name).set(state.pending)
        OUTBOX_OLDEST_AGE.labels(service_name).set(float(state.oldest_age))
        for collect in _collectors.get(service_name, ()):
            collect(session, now)
    except SQLAlchemyError as error:
        # The scrape still answers: the process's own counters matter most when the
        # database is the thing in trouble.
        REFRESH_FAILURES.labels(service_name).inc()
        log.warning("database gauges not refreshed", extra={"error": type(error).__name__})
    finally:
        session.rollback()
