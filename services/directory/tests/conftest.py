from pathlib import Path

import pytest

from shokudo_common.testing import MigratedDatabase

from directory.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "directory" / "migrations"


@pytest.fixture(scope="session")
def database():
    database = MigratedDatabase("directory", MIGRATIONS, Base.metadata).create()
    yield database
    database.dispose()


@pytest.fixture
def session(database):
    database.empty()
    session = database.make_session()
    yield session
    session.close()
