from datetime import datetime, timedelta, timezone

import pytest

from shokudo_common.errors import InvalidInput
from shokudo_common.periods import Period, validity_window

from issuance import domain

TOKYO = domain.Schedule(issue_day=20, time_zone="Asia/Tokyo")
LOS_ANGELES = domain.Schedule(issue_day=20, time_zone="America/Los_Angeles")
UTC = timezone.utc


def test_tickets_issued_on_20_february_are_usable_through_march_in_tokyo():
    window = validity_window(Period(2026, 2), "Asia/Tokyo")

    assert window.starts_at.isoformat() == "2026-03-01T00:00:00+09:00"
    assert window.ends_at.isoformat() == "2026-04-01T00:00:00+09:00"
    assert (window.first_day.isoformat(), window.last_day.isoformat()) == (
        "2026-03-01", "2026-03-31")
    # 1 March 00:00 in Tokyo is still 28 February in UTC.
    assert window.contains(datetime(2026, 2, 28, 15, 0, tzinfo=UTC))
    assert not window.contains(datetime(2026, 2, 28, 14, 59, tzinfo=UTC))


def test_tickets_issued_in_december_are_usable_in_january_of_the_next_year():
    window = validity_window(Period(2026, 12), "Asia/Tokyo")

    assert window.starts_at.isoformat() == "2027-01-01T00:00:00+09:00"
    assert window.ends_at.isoformat() == "2027-02-01T00:00:00+09:00"
    assert window.last_day.isoformat() == "2027-01-31"


@pytest.mark.parametrize("schedule, moment, due", [
    # Tokyo is ahead of UTC: its 20th begins while the UTC date is the 19th.
    (TOKYO, datetime(2026, 2, 19, 14, 59, tzinfo=UTC), None),
    (TOKYO, datetime(2026, 2, 19, 15, 0, tzinfo=UTC), Period(2026, 2)),
    # Los Angeles is behind: the UTC date is the 20th before its own 20th begins.
    (LOS_ANGELES, datetime(2026, 2, 20, 7, 59, tzinfo=UTC), None),
    (LOS_ANGELES, datetime(2026, 2, 20, 8, 0, tzinfo=UTC), Period(2026, 2)),
    # 1 March 00:30 in Tokyo: a new local month whose issue day is still to come.
    (TOKYO, datetime(2026, 2, 28, 15, 30, tzinfo=UTC), None),
])
def test_a_run_is_due_from_the_local_issue_day(schedule, moment, due):
    assert schedule.due_period(moment) == due


# Tokyo's issue day of February 2026 begins at 2026-02-19T15:00Z, of January at 01-19T15:00Z.
@pytest.mark.parametrize("created, moment, due", [
    # Before February's issue day, a program older than February: January's run was started.
    (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC), Period(2026, 1)),
    # Created in January after its issue day: the timer started January's run on creation.
    (datetime(2026, 1, 25, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC), Period(2026, 1)),
    # Created on 1 February 00:30 in Tokyo (still January in UTC): no run before its first.
    (datetime(2026, 1, 31, 15, 30, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC), None),
    (datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 2, 19, 14, 59, tzinfo=UTC), None),
    (datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 2, 19, 15, 0, tzinfo=UTC),
     Period(2026, 2)),
])
def test_the_latest_due_period_is_the_newest_one_the_timer_has_started(created, moment, due):
    assert TOKYO.latest_due_period(moment, since=created) == due


@pytest.mark.parametrize("schedule", [TOKYO, LOS_ANGELES], ids=["tokyo", "los-angeles"])
def test_a_due_period_is_always_one_a_timer_tick_since_the_program_began_has_started(schedule):
    """What the alert waits for and what the timer runs must be the same period."""
    created = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    ticks = [created + timedelta(hours=hours) for hours in range(0, 24 * 75, 5)]

    dues = [schedule.latest_due_period(tick, since=created) for tick in ticks]

    for index, due in enumerate(dues):
        started = {schedule.due_period(tick) for tick in ticks[:index + 1]}
        assert due is None or due in started, ticks[index]
    assert dues[0] is None and {Period(2026, 2), Period(2026, 3), Period(2026, 4)} <= set(dues)


def test_a_period_whose_issue_day_has_not_come_is_refused_with_its_start():
    with pytest.raises(InvalidInput) as raised:
        domain.ensure_started(TOKYO, Period(2026, 2), datetime(2026, 2, 19, 14, 59, tzinfo=UTC))

    assert raised.value.code == "period_not_started"
    assert raised.value.details["starts_at"] == "2026-02-20T00:00:00+09:00"


def test_an_earlier_period_may_still_be_run():
    domain.ensure_started(TOKYO, Period(2026, 1), datetime(2026, 2, 1, tzinfo=UTC))


ACTIVE, SUSPENDED, WITHDRAWN = domain.ACTIVE, domain.SUSPENDED, domain.WITHDRAWN
Entry = domain.RosterEntry


@pytest.mark.parametrize("kept, event_type, status, version, expected", [
    # The first fact heard, whichever it is, enters the household with its status and version.
    (None, "household_enrolled", ACTIVE, 1, Entry(ACTIVE, 1)),
    (None, "household_suspended", SUSPENDED, 2, Entry(SUSPENDED, 2)),
    # A suspension (v2) overtook the enrolment (v1): the late enrolment changes nothing.
    (Entry(SUSPENDED, 2), "household_enrolled", ACTIVE, 1, None),
    # A reinstatement (v3) overtook the suspension (v2): the household stays active.
    (Entry(ACTIVE, 3), "household_suspended", SUSPENDED, 2, None),
    # The same fact again (republished under a new event id) is not news either.
    (Entry(SUSPENDED, 2), "household_suspended", SUSPENDED, 2, None),
    (Entry(ACTIVE, 1), "household_suspended", SUSPENDED, 2, Entry(SUSPENDED, 2)),
    (Entry(SUSPENDED, 2), "household_reinstated", ACTIVE, 3, Entry(ACTIVE, 3)),
    (Entry(ACTIVE, 3), "household_withdrawn", WITHDRAWN, 4, Entry(WITHDRAWN, 4)),
    (Entry(WITHDRAWN, 4), "household_reinstated", ACTIVE, 3, None),
    # A newer version wins even when it skips one still on its way.
    (Entry(ACTIVE, 1), "household_reinstated", ACTIVE, 3, Entry(ACTIVE, 3)),
])
def test_only_a_newer_version_changes_the_roster(kept, event_type, status, version, expected):
    assert domain.roster_entry(kept, event_type, status, version) == expected


def test_the_payload_s_status_is_the_truth_and_the_event_type_only_stands_in_for_it():
    assert domain.roster_entry(None, "household_reinstated", SUSPENDED, 5) == Entry(SUSPENDED, 5)
    assert domain.roster_entry(None, "household_suspended", None, 2) == Entry(SUSPENDED, 2)


@pytest.mark.parametrize("kept, event_type, expected", [
    (None, "household_enrolled", Entry(ACTIVE, 0)),
    (None, "household_suspended", Entry(SUSPENDED, 0)),
    # Without versions the roster falls back on what it knew: a known household's enrolment
    # is late, and withdrawal is final.
    (Entry(SUSPENDED, 0), "household_enrolled", None),
    (Entry(ACTIVE, 0), "household_suspended", Entry(SUSPENDED, 0)),
    (Entry(SUSPENDED, 0), "household_reinstated", Entry(ACTIVE, 0)),
    (Entry(WITHDRAWN, 0), "household_reinstated", None),
    # Published before any numbered fact, so older than the one kept.
    (Entry(ACTIVE, 1), "household_suspended", None),
])
def test_an_unnumbered_fact_is_older_than_any_numbered_one(kept, event_type, expected):
    assert domain.roster_entry(kept, event_type) == expected
