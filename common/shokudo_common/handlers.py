"""Event handlers that apply each fact once, retry a failure a little, then park it.

``@on_event("issuance", "tickets_issued")`` replaces nameko's ``@event_handler`` in every
service. Around the handler body it:

1. records the event id in ``applied_events`` in the same transaction as the effect, so an
   event delivered twice is applied once;
2. retries a failing handler a few times with growing pauses (a database blip, a deadlock);
3. when it still fails, writes the message to ``parked_messages`` with the error, logs it and
   acknowledges it, so it is neither retried forever nor lost. ``python -m
   shokudo_common.parking`` lists and replays parked messages.

The handler body receives the payload, works through ``self.db`` and does not commit.
"""

import functools
import json
import logging

import eventlet
from prometheus_client import Counter
from sqlalchemy import text

from shokudo_common.logs import current_correlation_id
from shokudo_common.queues import event_handler

log = logging.getLogger(__name__)

ATTEMPTS = 3
FIRST_PAUSE_SECONDS = 0.2

EVENTS_APPLIED = Counter(
    "shokudo_events_applied_total",
    "Events applied by a handler (duplicates are counted under outcome=duplicate)",
    ["consumer", "outcome"],
)
MESSAGES_PARKED = Counter(
    "shokudo_messages_parked_total",
    "Messages that failed every attempt and were parked for an operator to replay",
    ["consumer"],
)

CLAIM = text(
    "INSERT INTO applied_events (event_id, consumer) VALUES (:event_id, :consumer)"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)
PARK = text(
    "INSERT INTO parked_messages"
    " (consumer, queue, event_type, payload, correlation_id, error, attempts)"
    " VALUES (:consumer, :queue, :event_type, CAST(:payload AS jsonb), :correlation_id,"
    " :error, :attempts)"
)


def queue_name(source_service, event_type, service_name, method_name):
    """The queue nameko declares for a service-pool event handler."""
    return f"evt-{source_service}-{event_type}--{service_name}.{method_name}"


def on_event(source_service, event_type):
    """Decorate a service method as a once-only, retrying, parking event handler."""

    def decorate(method):
        @functools.wraps(method)
        def handle(self, payload):
            consumer = f"{self.name}.{method.__name__}"
            delivery = _Delivery(self, method, consumer, event_type, payload)
            delivery.queue = queue_name(source_service, event_type, self.name, method.__name__)
            delivery.run()

        return event_handler(source_service, event_type)(handle)

    return decorate


class _Delivery:
    """One message on its way through a handler."""

    def __init__(self, service, method, consumer, event_type, payload):
        self.service = service
        self.method = method
        self.consumer = consumer
        self.event_type = event_type
        self.payload = payload
        self.queue = None

    def run(self):
        pause = FIRST_PAUSE_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._apply()
                return
            # Any failure of the handler is retried and then parked: a message must never be
            # dropped (nameko would ack and forget it) nor redelivered in a tight loop.
            except Exception as error:  # noqa: BLE001
                self.service.db.rollback()
                if attempt == ATTEMPTS:
                    self._park(error, attempt)
                    return
                log.warning("event handler failed, will retry", extra={
                    "consumer": self.consumer, "attempt": attempt,
                    "error": type(error).__name__,
                })
                eventlet.sleep(pause)
                pause *= 4

    def _apply(self):
        session = self.service.db
        event_id = self.payload["event_id"]
        claimed = session.execute(CLAIM, {"event_id": event_id, "consumer": self.consumer})
        if claimed.first() is None:
            session.rollback()
            EVENTS_APPLIED.labels(self.consumer, "duplicate").inc()
            log.info("event already applied", extra={"event_id": event_id})
            return
        self.method(self.service, self.payload)
        session.commit()
        EVENTS_APPLIED.labels(self.consumer, "applied").inc()

    def _park(self, error, attempts):
        session = self.service.db
        session.execute(PARK, {
            "consumer": self.consumer,
            "queue": self.queue,
            "event_type": self.event_type,
            "payload": json.dumps(self.payload, ensure_ascii=False),
            "correlation_id": current_correlation_id(),
            "error": f"{type(error).__name__}: {error}"[:2000],
            "attempts": attempts,
        })
        session.commit()
        MESSAGES_PARKED.labels(self.consumer).inc()
        log.error("event parked after retries", extra={
            "consumer": self.consumer, "event_id": self.payload.get("event_id"),
            "error": type(error).__name__,
        })
