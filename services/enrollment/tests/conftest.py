import importlib.util
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory

from shokudo_common.testing import database_fixtures, outbox_writer

from enrollment.models import Base
from enrollment.service import EnrollmentService

CORRELATION_ID = "c0ffee00-0000-4000-8000-000000000001"
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


class FakeCounter:
    """Stands for redemption at the counter: records each change pushed to it, in order.

    ``answers`` False makes it a redemption that did not answer in time; ``on_push`` runs as
    the push arrives (to look at what enrollment has committed by then).
    """

    def __init__(self):
        self.pushed = []
        self.answers = True
        self.on_push = None

    def household_status(self, fact):
        return self._push("household_status", fact)

    def household_move(self, fact):
        return self._push("household_move", fact)

    def card_replacement(self, blocked, issued):
        return self._push("card_replacement", blocked, issued)

    def card_blocked(self, blocked):
        return self._push("card_block", blocked)

    def _push(self, change, *facts):
        self.pushed.append((change, *facts))
        if self.on_push is not None:
            self.on_push(change, *facts)
        return self.answers


@pytest.fixture
def counter():
    return FakeCounter()


@pytest.fixture
def service(session, counter):
    return worker_factory(EnrollmentService, db=session, outbox=outbox_writer(), counter=counter,
                          correlation=CORRELATION_ID)
