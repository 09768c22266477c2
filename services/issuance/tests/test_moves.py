"""A household that moves to another organisation: the roster follows, the grants stay."""

import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

TOKYO = ZoneInfo("Asia/Tokyo")
REGION, PERIOD = "hoshizora-ku", "2026-02"
AOBA = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
HIKARI = "8e3a2b0f-4c5d-4e6f-9071-8293a4b5c6d7"


def fact(household_id, organisation_id=AOBA, version=1, status="active"):
    return {
        "event_id": str(uuid.uuid4()), "household_id": household_id, "region_id": REGION,
        "organisation_id": organisation_id, "channel": "card", "language": "ja",
        "status": status, "enrolled_at": "2026-02-01T10:00:00+09:00", "version": version,
    }


def moved(household_id, version=2, status="active"):
    return dict(fact(household_id, HIKARI, version, status), from_organisation_id=AOBA)


def roster_organisation(database, household_id):
    with database.engine.connect() as connection:
        return connection.execute(
            text("SELECT organisation_id FROM roster WHERE household_id = :id"),
            {"id": household_id}).scalar()


def grants(database):
    with database.engine.connect() as connection:
        return Counter(connection.execute(
            text("SELECT household_id FROM grants WHERE period = :p"), {"p": PERIOD}).scalars())


@pytest.fixture
def granted(service, clock):
    """A household of あおば granted by the February run, then 25 February in Tokyo."""
    service.upsert_program(REGION, {"name": "星空区こども食堂", "late_enrolment": "grant_now"})
    household_id = str(uuid.uuid4())
    service.household_enrolled(fact(household_id))
    service.start_run(REGION, PERIOD)
    clock.set(datetime(2026, 2, 25, 10, 0, tzinfo=TOKYO))
    return household_id


def test_the_roster_follows_a_move_and_the_grant_is_not_given_again(
        service, granted, database):
    batches = len(database.outbox_events("tickets_issued"))

    service.household_moved(moved(granted))

    assert roster_organisation(database, granted) == HIKARI
    assert grants(database) == Counter([granted])
    assert len(database.outbox_events("tickets_issued")) == batches
    assert service.roster_count(REGION) == 1


def test_a_late_enrolment_older_than_the_move_is_ignored_and_the_move_decides(
        service, granted, database):
    latecomer = str(uuid.uuid4())

    service.household_moved(moved(latecomer))
    service.household_enrolled(fact(latecomer))

    assert roster_organisation(database, latecomer) == HIKARI
    assert grants(database)[latecomer] == 1  # judged late on the move, once


def test_a_stale_move_changes_nothing(service, granted, database):
    service.household_suspended(fact(granted, version=3, status="suspended"))

    service.household_moved(moved(granted, version=2))

    assert roster_organisation(database, granted) == AOBA
