"""Test helpers shared by the services' own tests: a real, migrated PostgreSQL database, and
what a test does when a prerequisite of the machine is missing.

Service tests talk to PostgreSQL for real (constraints, locks and JSONB behave as in
production); nameko's ``worker_factory`` supplies the service instance.
"""

import os
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from shokudo_common.db import psycopg2_uri
from shokudo_common.migrations import LOCAL_DEFAULT, upgrade
from shokudo_common.outbox import OutboxWriter


class MigratedDatabase:
    """A fresh database for one service's tests, emptied between tests.

    Its name carries the test process's id, so that two test runs on one machine (a developer's
    and a helper's, say) never drop each other's database.
    """

    def __init__(self, service, migrations_dir, metadata):
        self.name = f"shokudo_unit_{service}_{os.getpid()}"
        self.uri = LOCAL_DEFAULT.format(database=self.name)
        self.migrations_dir = migrations_dir
        self.metadata = metadata

    def create(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                    f'CREATE DATABASE "{self.name}"')
        upgrade(self.migrations_dir, self.uri)
        self.engine = create_engine(psycopg2_uri(self.uri))
        self.make_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        return self

    def empty(self):
        tables = ", ".join(f'"{table.name}"' for table in self.metadata.sorted_tables)
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

    def dispose(self):
        self.engine.dispose()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, *statements):
        admin = create_engine(LOCAL_DEFAULT.format(database="postgres"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        admin.dispose()

    def outbox_events(self, event_type=None):
        query = "SELECT event_type, payload FROM outbox ORDER BY id"
        with self.engine.connect() as connection:
            rows = connection.execute(text(query)).all()
        return [row.payload for row in rows if event_type in (None, row.event_type)]


def outbox_writer(correlation_id="test-correlation"):
    """The real outbox writer, as a worker would get it, without a relay behind it."""
    return OutboxWriter(None, SimpleNamespace(data={"correlation_id": correlation_id}))


def database_fixtures(service, migrations_dir, metadata):
    """The ``database`` (per test session) and ``session`` (per test) fixtures of a service.

    In a service's tests/conftest.py::

        database, session = database_fixtures("directory", MIGRATIONS, Base.metadata)
    """

    @pytest.fixture(scope="session")
    def database():
        database = MigratedDatabase(service, migrations_dir, metadata).create()
        yield database
        database.dispose()

    @pytest.fixture
    def session(database):
        database.empty()
        session = database.make_session()
        yield session
        session.close()

    return database, session


def under_ci(environ=None, uid=None):
    """True under CI: the variable ``CI`` set, or running as root, as ``.ci/run`` does."""
    environ = os.environ if environ is None else environ
    uid = os.geteuid() if uid is None else uid
    return environ.get("CI", "").lower() not in ("", "0", "false", "no") or uid == 0


def prerequisite_missing(message):
    """Skip the test on a developer's machine, saying what is missing; fail it under CI, where a
    skipped check would prove nothing and a green run would hide that it never ran."""
    if under_ci():
        pytest.fail(f"{message}; under CI a missing prerequisite fails its checks",
                    pytrace=False)
    pytest.skip(message)
