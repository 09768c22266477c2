import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.clock import FixedClock
from shokudo_common.testing import database_fixtures, outbox_writer

from issuance.models import Base, RosterHousehold
from issuance.service import IssuanceService

MIGRATIONS = Path(__file__).resolve().parents[1] / "issuance" / "migrations"
REGION = "hoshizora-ku"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"

# Long enough for every run of these tests to complete before start_run answers.
ANSWER_WITHIN_SECONDS = 60.0

# 00:30 on 20 February in Tokyo, while the UTC date is still the 19th: the issue day has come.
ISSUE_DAY_IN_TOKYO = datetime(2026, 2, 19, 15, 30, tzinfo=timezone.utc)


class WorkerKilled(Exception):
    """Stands for the process dying in the middle of a batch."""


class OutboxThatDiesAfter:
    """The real outbox writer, until the worker dies while staging batch ``batches + 1``."""

    def __init__(self, batches):
        self.batches = batches
        self.writer = outbox_writer()

    def add(self, session, event_type, payload):
        if event_type == "tickets_issued":
            if self.batches == 0:
                raise WorkerKilled()
            self.batches -= 1
        return self.writer.add(session, event_type, payload)


database, session = database_fixtures("issuance", MIGRATIONS, Base.metadata)


@pytest.fixture
def clock():
    return FixedClock(ISSUE_DAY_IN_TOKYO)


@pytest.fixture
def make_service(database, session, clock):
    """A worker of its own (own session, as each nameko worker has) for each call."""
    sessions = []

    def make(outbox=None, answer_within=ANSWER_WITHIN_SECONDS):
        session = database.make_session()
        sessions.append(session)
        return worker_factory(IssuanceService, db=session, clock=clock,
                              outbox=outbox or outbox_writer(), answer_within=answer_within)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def service(session, clock):
    return worker_factory(IssuanceService, db=session, clock=clock, outbox=outbox_writer(),
                          answer_within=ANSWER_WITHIN_SECONDS)


@pytest.fixture
def program(service):
    return service.upsert_program(REGION, {"name": "星空区こども食堂"})


@pytest.fixture
def add_households(session):
    """Put households straight into the roster, as enrollment's events would have."""

    def add(count, region_id=REGION, status="active"):
        ids = [str(uuid.uuid4()) for _ in range(count)]
        session.execute(insert(RosterHousehold), [
            {"household_id": household_id, "region_id": region_id,
             "organisation_id": ORGANISATION, "status": status}
            for household_id in ids
        ])
        session.commit()
        return ids

    return add


@pytest.fixture
def interrupt_run(make_service):
    """Start a run in a worker that dies after committing ``batches`` batches."""

    def interrupt(region_id, period, batches=1, **options):
        dying = make_service(outbox=OutboxThatDiesAfter(batches))
        with pytest.raises(WorkerKilled):
            dying.start_run(region_id, period, **options)
        # The dead worker's open transaction goes with its connection.
        dying.db.close()

    return interrupt
