"""Stale connections: pinged when they sat idle, found by the statement when in steady use."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shokudo_common.db import make_engine


def _cut_every_other_connection(db_uri):
    """What a PostgreSQL restart does to the pool's connections, this test's own excepted."""
    engine = make_engine(db_uri, pool_size=1)
    with engine.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = 'ping-test'"))
    engine.dispose()


def _pool(db_uri, idle_ping_seconds=3600):
    return make_engine(db_uri + "?application_name=ping-test", pool_size=1,
                       idle_ping_seconds=idle_ping_seconds)


def test_a_connection_idle_long_enough_is_pinged_and_replaced_when_cut(db_uri):
    engine = _pool(db_uri, idle_ping_seconds=0)  # every checkout counts as idle long enough
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    _cut_every_other_connection(db_uri)

    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
    engine.dispose()


def test_a_connection_in_steady_use_cut_fails_once_then_the_pool_is_fresh(db_uri):
    engine = _pool(db_uri)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))

    _cut_every_other_connection(db_uri)

    with pytest.raises(OperationalError) as failure, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
