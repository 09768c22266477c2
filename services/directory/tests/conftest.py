from pathlib import Path


import pytest

from shokudo_common.testing import database_fixtures

from directory.models import Base
from directory.service import ZONES

MIGRATIONS = Path(__file__).resolve().parents[1] / "directory" / "migrations"


database, session = database_fixtures("directory", MIGRATIONS, Base.metadata)


@pytest.fixture(autouse=True)
def no_remembered_zones():
    """Each test starts with the zones its own database holds, none from another test."""
    ZONES.forget_all()
