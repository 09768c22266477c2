"""The local stack that the demo and the end-to-end tests run: what it refuses to do."""

import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

from shokudo_common.devstack import PortInUse, Stack

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"


@pytest.fixture
def stack_still_running(tmp_path):
    """A stack's database, its logs folder and its gateway's port, as a running stack of that
    name holds them; all removed afterwards."""
    prefix = f"shokudo_devstack_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{prefix}_directory"'))
    (tmp_path / "logs").mkdir()
    gateway = socket.create_server(("127.0.0.1", 0))
    stack = Stack(db_prefix=prefix, port_base=gateway.getsockname()[1], smtp_port=1,
                  var_dir=tmp_path)
    yield stack, admin
    gateway.close()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_directory" WITH (FORCE)'))
    admin.dispose()


def test_a_stack_whose_port_is_taken_is_refused_before_anything_of_it_is_dropped(
        stack_still_running):
    stack, admin = stack_still_running

    with pytest.raises(PortInUse) as refused:
        stack.prepare(fresh=True)

    assert "make demo-keep" in str(refused.value)
    with admin.connect() as connection:
        kept = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": f"{stack.db_prefix}_directory"}).scalar()
    assert kept == 1
    assert (stack.var_dir / "logs").is_dir()
