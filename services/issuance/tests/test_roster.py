import uuid

import pytest
from sqlalchemy import text

import shokudo_common.handlers
from shokudo_common.errors import InvalidInput

REGION = "hoshizora-ku"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


def fact(household_id, status, **overrides):
    """A household event as enrollment publishes it, with a fresh event id."""
    payload = {
        "event_id": str(uuid.uuid4()),
        "household_id": household_id,
        "region_id": REGION,
        "organisation_id": ORGANISATION,
        "channel": "card",
        "language": "ja",
        "status": status,
        "enrolled_at": "2026-02-01T10:00:00+09:00",
    }
    payload.update(overrides)
    return payload


def test_enrolled_households_are_counted_and_suspended_ones_are_not(service):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    service.household_enrolled(fact(first, "active"))
    service.household_enrolled(fact(second, "active"))

    service.household_suspended(fact(second, "suspended"))

    assert service.roster_count(REGION) == 1
    assert service.roster_count("umibe-cho") == 0


def test_a_reinstated_household_is_back_on_the_roster(service):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active"))
    service.household_suspended(fact(household, "suspended"))

    service.household_reinstated(fact(household, "active"))

    assert service.roster_count(REGION) == 1


def test_an_event_delivered_twice_is_applied_once(service, session):
    household = str(uuid.uuid4())
    enrolled = fact(household, "active")
    service.household_enrolled(enrolled)
    service.household_suspended(fact(household, "suspended"))

    # The broker hands the enrolment over again (a dropped connection before the ack).
    service.household_enrolled(enrolled)

    assert service.roster_count(REGION) == 0
    claims = session.execute(text("SELECT count(*) FROM applied_events")).scalar()
    assert claims == 2


def test_a_withdrawn_household_is_not_put_back_by_a_late_reinstatement(service):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active"))
    service.household_withdrawn(fact(household, "withdrawn"))

    service.household_reinstated(fact(household, "active"))

    assert service.roster_count(REGION) == 0


def test_a_suspension_that_overtakes_the_enrolment_is_not_undone_by_it(service):
    household = str(uuid.uuid4())
    service.household_suspended(fact(household, "suspended"))

    service.household_enrolled(fact(household, "active"))

    assert service.roster_count(REGION) == 0


def test_an_event_the_roster_cannot_read_is_parked_not_applied(service, session, monkeypatch):
    monkeypatch.setattr(shokudo_common.handlers, "FIRST_PAUSE_SECONDS", 0)
    broken = fact(str(uuid.uuid4()), "active", organisation_id="not-an-id")

    service.household_enrolled(broken)

    parked = session.execute(text("SELECT consumer, payload FROM parked_messages")).one()
    assert parked.consumer == "issuance.household_enrolled"
    assert parked.payload["event_id"] == broken["event_id"]
    assert service.roster_count(REGION) == 0


@pytest.mark.parametrize("bad", ["Hoshizora Ku", ""])
def test_counting_a_malformed_region_is_refused(service, bad):
    with pytest.raises(InvalidInput):
        service.roster_count(bad)
