"""One PostgreSQL database per service, reached through a nameko dependency.

The engine lives as long as the container; each worker gets its own session, closed when the
worker ends. psycopg2 is made cooperative with eventlet (psycogreen) so that a slow query parks
one green thread instead of the whole service.

Each process reports its pool on /metrics: the connections workers hold now and the most it
may open (pool size plus overflow). At the limit, workers wait for a connection: the pool is
the saturation point to watch before adding replicas or raising ``DB_POOL_SIZE``.

Stale connections (PostgreSQL restarted, a connection cut by the network) are found without a
ping on every checkout, which cost one more round trip per worker:

- a connection that sat in the pool for ``IDLE_PING_SECONDS`` or more is pinged when checked
  out, and replaced if the ping fails (the quiet hours after a restart at night);
- a connection in steady use is not pinged: if PostgreSQL went away meanwhile, the statement
  fails as a disconnect, SQLAlchemy invalidates that connection and every other one the pool
  held at that moment, and the work fails as it would have failed mid-transaction anyway (an
  RPC answers 503 through the gateway and the client retries with its idempotency key; an
  event handler retries, shokudo_common.handlers);
- every connection is replaced after ``RECYCLE_SECONDS``, so none outlives a server-side or
  proxy idle limit.
"""

import time

from psycogreen.eventlet import patch_psycopg
from nameko.extensions import DependencyProvider
from prometheus_client import Gauge
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker

patch_psycopg()

POOL_CHECKED_OUT = Gauge(
    "shokudo_db_pool_checked_out_connections",
    "Database connections of this process's pool held by workers at the scrape",
    ["service"],
)
POOL_LIMIT = Gauge(
    "shokudo_db_pool_max_connections",
    "Most database connections this process's pool opens at once (size plus overflow)",
    ["service"],
)

IDLE_PING_SECONDS = 10.0
RECYCLE_SECONDS = 1800


def psycopg2_uri(uri):
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which blocks the eventlet hub."""
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg2://" + uri[len("postgresql://"):]
    return uri


def make_engine(uri, pool_size=10, max_overflow=None, idle_ping_seconds=IDLE_PING_SECONDS):
    """An engine keeping ``pool_size`` connections open between requests, and opening up to
    ``max_overflow`` more (closed again once returned) when more workers need one at once."""
    engine = create_engine(
        psycopg2_uri(uri), pool_size=pool_size, pool_recycle=RECYCLE_SECONDS,
        max_overflow=pool_size if max_overflow is None else max_overflow,
    )
    ping_when_idle(engine, idle_ping_seconds)
    return engine


def ping_when_idle(engine, idle_seconds=IDLE_PING_SECONDS):
    """Ping a connection on checkout only when it has been idle ``idle_seconds`` or more."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def stamp(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a fresh one).
            raise DisconnectionError("stale connection found on checkout") from error


class Database(DependencyProvider):
    """Injects a SQLAlchemy session per worker; the service commits when its work is whole."""

    def __init__(self, config_key="DB_URI"):
        self.config_key = config_key
        self.sessions = {}

    def setup(self):
        config = self.container.config
        # Connections kept open per process. Every replica of every service holds its own, so
        # a platform of many processes on one PostgreSQL (the tests, a small region) keeps
        # this low; bursts open up to DB_POOL_OVERFLOW more for as long as they need them.
        pool_size = int(config.get("DB_POOL_SIZE", 10))
        max_overflow = int(config.get("DB_POOL_OVERFLOW", 10))
        self.engine = make_engine(config[self.config_key], pool_size=pool_size,
                                  max_overflow=max_overflow)
        self.make_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        POOL_LIMIT.labels(self.container.service_name).set(pool_size + max_overflow)

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        session = self.make_session()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


def observe_pool(service_name, session):
    """Set the pool gauges; call before ``session`` runs a query, so that the scrape's own
    connection is not counted."""
    POOL_CHECKED_OUT.labels(service_name).set(session.get_bind().pool.checkedout())
