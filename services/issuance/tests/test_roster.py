import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

import shokudo_common.handlers
from shokudo_common.errors import InvalidInput

REGION = "hoshizora-ku"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


def fact(household_id, status, version, **overrides):
    """A household event as enrollment publishes it, with a fresh event id.

    ``version`` None makes a fact as enrollment published them before it numbered changes.
    """
    payload = {
        "event_id": str(uuid.uuid4()),
        "household_id": household_id,
        "region_id": REGION,
        "organisation_id": ORGANISATION,
        "channel": "card",
        "language": "ja",
        "status": status,
        "enrolled_at": "2026-02-01T10:00:00+09:00",
        "version": version,
    }
    if version is None:
        del payload["version"]
    payload.update(overrides)
    return payload


def stale(event_type):
    labels = {"event_type": event_type}
    return REGISTRY.get_sample_value("shokudo_roster_stale_facts_ignored_total", labels) or 0


def roster_row(session, household_id):
    row = session.execute(text("SELECT status, version FROM roster WHERE household_id = :id"),
                          {"id": household_id}).one()
    return tuple(row)


def parked(session):
    return session.execute(text("SELECT count(*) FROM parked_messages")).scalar()


def test_enrolled_households_are_counted_and_suspended_ones_are_not(service):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    service.household_enrolled(fact(first, "active", 1))
    service.household_enrolled(fact(second, "active", 1))

    service.household_suspended(fact(second, "suspended", 2))

    assert service.roster_count(REGION) == 1
    assert service.roster_count("umibe-cho") == 0


def test_a_reinstated_household_is_back_on_the_roster(service):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active", 1))
    service.household_suspended(fact(household, "suspended", 2))

    service.household_reinstated(fact(household, "active", 3))

    assert service.roster_count(REGION) == 1


def test_an_event_delivered_twice_is_applied_once(service, session):
    household = str(uuid.uuid4())
    enrolled = fact(household, "active", 1)
    service.household_enrolled(enrolled)
    service.household_suspended(fact(household, "suspended", 2))

    # The broker hands the enrolment over again (a dropped connection before the ack).
    service.household_enrolled(enrolled)

    assert service.roster_count(REGION) == 0
    claims = session.execute(text("SELECT count(*) FROM applied_events")).scalar()
    assert claims == 2


def test_a_withdrawn_household_is_not_put_back_by_a_late_reinstatement(service):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active", 1))
    service.household_withdrawn(fact(household, "withdrawn", 3))

    # Reinstated (v2) before the withdrawal (v3), but delivered after it.
    service.household_reinstated(fact(household, "active", 2))

    assert service.roster_count(REGION) == 0


def test_a_suspension_that_overtakes_the_enrolment_is_not_undone_by_it(service, session):
    household = str(uuid.uuid4())
    ignored_before = stale("household_enrolled")
    service.household_suspended(fact(household, "suspended", 2))

    service.household_enrolled(fact(household, "active", 1))

    assert service.roster_count(REGION) == 0
    assert roster_row(session, household) == ("suspended", 2)
    assert stale("household_enrolled") == ignored_before + 1
    assert parked(session) == 0


def test_a_reinstatement_that_overtakes_the_suspension_keeps_the_household_active(
        service, session):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active", 1))
    service.household_reinstated(fact(household, "active", 3))

    service.household_suspended(fact(household, "suspended", 2))

    assert service.roster_count(REGION) == 1
    assert roster_row(session, household) == ("active", 3)
    assert parked(session) == 0


def test_a_household_first_heard_of_through_its_reinstatement_is_active(service, session):
    household = str(uuid.uuid4())

    service.household_reinstated(fact(household, "active", 3))
    service.household_suspended(fact(household, "suspended", 2))
    service.household_enrolled(fact(household, "active", 1))

    assert roster_row(session, household) == ("active", 3)


def test_the_same_version_republished_under_a_new_event_id_changes_nothing(service, session):
    household = str(uuid.uuid4())
    ignored_before = stale("household_suspended")
    service.household_enrolled(fact(household, "active", 1))
    service.household_suspended(fact(household, "suspended", 2))
    service.household_reinstated(fact(household, "active", 3))

    service.household_suspended(fact(household, "suspended", 2))

    assert roster_row(session, household) == ("active", 3)
    assert stale("household_suspended") == ignored_before + 1


def test_the_status_in_the_fact_is_the_truth_not_its_type(service, session):
    household = str(uuid.uuid4())
    service.household_enrolled(fact(household, "active", 1))

    service.household_reinstated(fact(household, "suspended", 2))

    assert roster_row(session, household) == ("suspended", 2)


def test_unnumbered_facts_follow_the_old_rules_until_a_numbered_one_arrives(service, session):
    household = str(uuid.uuid4())
    service.household_suspended(fact(household, "suspended", None))
    # A late enrolment of a household already known changes nothing.
    service.household_enrolled(fact(household, "active", None))
    assert roster_row(session, household) == ("suspended", 0)

    service.household_reinstated(fact(household, "active", 1))
    # Published before any numbered fact, so older than version 1.
    service.household_suspended(fact(household, "suspended", None))

    assert roster_row(session, household) == ("active", 1)


@pytest.mark.parametrize("version", [0, -1, "2", 1.5, True])
def test_a_fact_with_a_broken_version_is_parked_not_applied(
        service, session, monkeypatch, version):
    monkeypatch.setattr(shokudo_common.handlers, "FIRST_PAUSE_SECONDS", 0)
    household = str(uuid.uuid4())

    service.household_enrolled(fact(household, "active", version))

    assert parked(session) == 1
    assert service.roster_count(REGION) == 0


def test_an_event_the_roster_cannot_read_is_parked_not_applied(service, session, monkeypatch):
    monkeypatch.setattr(shokudo_common.handlers, "FIRST_PAUSE_SECONDS", 0)
    broken = fact(str(uuid.uuid4()), "active", 1, organisation_id="not-an-id")

    service.household_enrolled(broken)

    parked = session.execute(text("SELECT consumer, payload FROM parked_messages")).one()
    assert parked.consumer == "issuance.household_enrolled"
    assert parked.payload["event_id"] == broken["event_id"]
    assert service.roster_count(REGION) == 0


@pytest.mark.parametrize("bad", ["Hoshizora Ku", ""])
def test_counting_a_malformed_region_is_refused(service, bad):
    with pytest.raises(InvalidInput):
        service.roster_count(bad)
