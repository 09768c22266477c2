"""The transactional outbox: facts are written with the change that makes them true.

A worker calls ``outbox.add(session, "ticket_redeemed", payload)`` before it commits; the row
commits or rolls back with the business change. A relay inside every replica of the service
then publishes pending rows to the service's events exchange with publisher confirms and marks
them published in the same transaction that locked them::

    worker ── INSERT business rows + outbox row ── COMMIT
                                                    │
    relay  ── SELECT … FOR UPDATE SKIP LOCKED ──────┘── publish (confirmed) ── UPDATE published_at

A crash after the commit leaves the row pending and it is published after restart; a crash
after publishing but before marking publishes it again, which the consumers' applied-events
table absorbs. SKIP LOCKED lets several replicas relay side by side without sending a row twice
in the normal case.

Operators can pause publishing (a broker migration, say) with ``OUTBOX_RELAY_ENABLED: false``:
workers still stage their events, which wait in the outbox until a replica starts with the relay
on again. The gauge ``shokudo_outbox_relay_enabled`` shows which services are paused.
"""

import json
import logging
import uuid
from weakref import WeakSet

from amqp.exceptions import AMQPError
from eventlet.queue import Empty, Full, LightQueue
from kombu.exceptions import KombuError
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shokudo_common.db import make_engine
from shokudo_common.logs import CORRELATION_KEY

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter(
    "shokudo_outbox_events_published_total",
    "Events relayed from the outbox to RabbitMQ and confirmed by the broker",
    ["service", "event_type"],
)
RELAY_ENABLED = Gauge(
    "shokudo_outbox_relay_enabled",
    "1 while the outbox relay publishes, 0 while OUTBOX_RELAY_ENABLED has paused it",
    ["service"],
)
RELAY_FAILURES = Counter(
    "shokudo_outbox_relay_failures_total",
    "Relay passes that failed (broker or database unavailable) and will be retried",
    ["service"],
)

PENDING = text(
    "SELECT id, event_type, payload, correlation_id FROM outbox"
    " WHERE published_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
MARK_PUBLISHED = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
INSERT = text(
    "INSERT INTO outbox (event_id, event_type, payload, correlation_id)"
    " VALUES (:event_id, :event_type, CAST(:payload AS jsonb), :correlation_id)"
)

RELAY_SWITCH = "OUTBOX_RELAY_ENABLED"
SWITCH_VALUES = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}


class OutboxWriter:
    """What a worker sees: a way to add an event to its own transaction."""

    def __init__(self, outbox, worker_ctx):
        self._outbox = outbox
        # Read at add(), not here: nameko injects dependencies before CorrelationId has
        # given the worker its id.
        self._worker_ctx = worker_ctx

    def add(self, session, event_type, payload):
        """Stage ``payload`` as event ``event_type``; it leaves only if ``session`` commits."""
        event_id = str(uuid.uuid4())
        body = dict(payload, event_id=event_id)
        session.execute(INSERT, {
            "event_id": event_id,
            "event_type": event_type,
            "payload": json.dumps(body, ensure_ascii=False),
            "correlation_id": self._worker_ctx.data.get(CORRELATION_KEY),
        })
        if self._outbox is not None:
            self._outbox.staged_by.add(self._worker_ctx)
        return event_id


class Outbox(DependencyProvider):
    """Dependency that stages events and relays them after commit."""

    def __init__(self, db_config_key="DB_URI", idle_seconds=0.5, batch_size=200):
        self.db_config_key = db_config_key
        self.idle_seconds = idle_seconds
        self.batch_size = batch_size
        # The workers that staged an event: only they wake the relay when they end.
        self.staged_by = WeakSet()

    def setup(self):
        config = self.container.config
        self.service_name = self.container.service_name
        self.engine = make_engine(config[self.db_config_key], pool_size=2)
        self.exchange = get_event_exchange(self.service_name, config)
        self.publisher = Publisher(
            config[AMQP_URI_CONFIG_KEY], use_confirms=True, serializer="json",
            declare=[self.exchange],
        )
        self._wake = LightQueue(maxsize=1)
        self._stopping = False
        self._relay_thread = None
        self.relay_enabled = relay_switch(config)

    def start(self):
        RELAY_ENABLED.labels(self.service_name).set(int(self.relay_enabled))
        if not self.relay_enabled:
            log.warning("outbox relay paused by configuration; events wait in the outbox",
                        extra={"service": self.service_name})
            return
        self._relay_thread = self.container.spawn_managed_thread(self._relay_forever)

    def stop(self):
        self._stopping = True
        self.wake()
        if self._relay_thread is not None:
            self._relay_thread.wait()
        self.engine.dispose()

    def kill(self):
        self._stopping = True
        if self._relay_thread is not None:
            self._relay_thread.kill()

    def get_dependency(self, worker_ctx):
        return OutboxWriter(self, worker_ctx)

    def worker_teardown(self, worker_ctx):
        # Most workers that add events have committed by now: publish without waiting. A
        # worker that staged nothing (a read, a search) leaves the relay asleep: waking it
        # cost a transaction of three round trips for nothing.
        if worker_ctx in self.staged_by:
            self.staged_by.discard(worker_ctx)
            self.wake()

    def wake(self):
        try:
            self._wake.put_nowait(True)
        except Full:
            pass

    def relay_once(self):
        """Publish one batch of pending events; returns how many went out."""
        with self.engine.begin() as connection:
            rows = connection.execute(PENDING, {"limit": self.batch_size}).all()
            for row in rows:
                self._publish(row)
            if rows:
                connection.execute(MARK_PUBLISHED, {"ids": [row.id for row in rows]})
        return len(rows)

    def _publish(self, row):
        headers = {}
        if row.correlation_id:
            headers["nameko." + CORRELATION_KEY] = row.correlation_id
        self.publisher.publish(
            row.payload, exchange=self.exchange, routing_key=row.event_type, headers=headers
        )
        EVENTS_PUBLISHED.labels(self.service_name, row.event_type).inc()

    def _relay_forever(self):
        pause = self.idle_seconds
        while not self._stopping:
            try:
                published = self.relay_once()
                pause = self.idle_seconds
            except (AMQPError, KombuError, OSError, SQLAlchemyError) as error:
                # Broker or database away: keep the rows, try again later, a little slower.
                RELAY_FAILURES.labels(self.service_name).inc()
                log.warning("outbox relay failed", extra={"error": type(error).__name__})
                published = 0
                pause = min(pause * 2, 10.0)
            if published < self.batch_size:
                self._sleep(pause)

    def _sleep(self, seconds):
        try:
            self._wake.get(timeout=seconds)
        except Empty:
            pass


def relay_switch(config):
    """Whether the relay publishes: ``OUTBOX_RELAY_ENABLED`` from the config, on by default."""
    value = config.get(RELAY_SWITCH, True)
    if isinstance(value, bool):
        return value
    try:
        return SWITCH_VALUES[str(value).strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"{RELAY_SWITCH} must be true or false, not {value!r}") from None
