import importlib.util
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory

from shokudo_common.testing import database_fixtures, outbox_writer

from enrollment.models import Base
from enrollment.service import EnrollmentService

MIGRATIONS = Path(__file__).resolve().parents[1] / "enrollment" / "migrations"


@pytest.fixture(scope="session")
def sheets():
    """The spreadsheet helpers (sheets.py); tests are imported without their folder on the path."""
    spec = importlib.util.spec_from_file_location(
        "enrollment_test_sheets", Path(__file__).with_name("sheets.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


database, session = database_fixtures("enrollment", MIGRATIONS, Base.metadata)


@pytest.fixture
def service(session):
    return worker_factory(EnrollmentService, db=session, outbox=outbox_writer())
