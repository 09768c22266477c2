"""One PostgreSQL database per service, reached through a nameko dependency.

The engine lives as long as the container; each worker gets its own session, closed when the
worker ends. psycopg2 is made cooperative with eventlet (psycogreen) so that a slow query parks
one green thread instead of the whole service.

Each process reports its pool on /metrics: the connections workers hold now and the most it
may open (pool size plus overflow). At the limit, workers wait for a connection: the pool is
the saturation point to watch before adding replicas or raising ``DB_POOL_SIZE``.
"""

from psycogreen.eventlet import patch_psycopg
from nameko.extensions import DependencyProvider
from prometheus_client import Gauge
from sqlalchemy import create_engine
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


def psycopg2_uri(uri):
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which blocks the eventlet hub."""
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg2://" + uri[len("postgresql://"):]
    return uri


def make_engine(uri, pool_size=10, max_overflow=None):
    """An engine keeping ``pool_size`` connections open between requests, and opening up to
    ``max_overflow`` more (closed again once returned) when more workers need one at once."""
    return create_engine(
        psycopg2_uri(uri), pool_pre_ping=True, pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
    )


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
