"""Tests of the shared plumbing against the real RabbitMQ (own vhost) and PostgreSQL."""

import os

import pytest
import requests
from sqlalchemy import create_engine, text

from shokudo_common.db import psycopg2_uri
from shokudo_common.migrations import LOCAL_DEFAULT

from plumbing_models import Base

MANAGEMENT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
VHOST = os.environ.get("SHOKUDO_IT_NAME", "shokudo_it").replace("_", "-") + "-common"

@pytest.fixture(scope="session")
def amqp_uri():
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/api/vhosts/{VHOST}", auth=auth, timeout=10)
    requests.put(f"{MANAGEMENT}/api/vhosts/{VHOST}", auth=auth, timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/api/permissions/{VHOST}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"}, auth=auth, timeout=10,
    ).raise_for_status()
    return f"pyamqp://guest:guest@127.0.0.1:5672/{VHOST}"


@pytest.fixture(scope="session")
def db_uri():
    name = f"shokudo_unit_common_{os.getpid()}"
    admin = create_engine(LOCAL_DEFAULT.format(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    uri = LOCAL_DEFAULT.format(database=name)
    engine = create_engine(psycopg2_uri(uri))
    Base.metadata.create_all(engine)
    engine.dispose()
    return uri


@pytest.fixture
def engine(db_uri):
    engine = create_engine(psycopg2_uri(db_uri))
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    yield engine
    engine.dispose()


@pytest.fixture
def config(amqp_uri, db_uri):
    port = int(os.environ.get("SHOKUDO_IT_PORT_BASE", "18000")) + 98
    return {"AMQP_URI": amqp_uri, "DB_URI": db_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
