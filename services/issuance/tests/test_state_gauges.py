"""The gauges an operator's alerts read from issuance's database on each scrape."""

from datetime import datetime, timedelta, timezone

from prometheus_client import REGISTRY

from nameko.testing.services import worker_factory
from shokudo_common import gauges
from shokudo_common.clock import FixedClock
from shokudo_common.testing import outbox_writer

from issuance.service import IssuanceService

REGION = "hoshizora-ku"
# The tests' clock (conftest.py): 00:30 on 20 February in Tokyo.
ISSUE_DAY_IN_TOKYO = datetime(2026, 2, 19, 15, 30, tzinfo=timezone.utc)
# 20 February 00:00 in Tokyo, the issue day of 2026-02 for the default program.
FEBRUARY_ISSUE_DAY = datetime(2026, 2, 19, 15, 0, tzinfo=timezone.utc).timestamp()
JANUARY_ISSUE_DAY = datetime(2026, 1, 19, 15, 0, tzinfo=timezone.utc).timestamp()


def scrape(session, moment):
    gauges.refresh("issuance", session, FixedClock(moment))

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, {"region_id": REGION, **labels})

    return sample


def test_the_due_run_shows_as_not_completed_until_its_run_completes(
        service, program, add_households, session):
    add_households(3)

    sample = scrape(session, ISSUE_DAY_IN_TOKYO)
    assert sample("shokudo_issuance_due_issue_day_start_timestamp_seconds") == \
        FEBRUARY_ISSUE_DAY
    assert sample("shokudo_issuance_due_run_completed") == 0

    service.start_run(REGION, "2026-02")

    sample = scrape(session, ISSUE_DAY_IN_TOKYO)
    assert sample("shokudo_issuance_due_run_completed") == 1
    assert sample("shokudo_issuance_period_grants", period="2026-02") == 3
    assert sample("shokudo_issuance_period_granted_yen", period="2026-02") == 3 * 3000


def program_created_at(session, moment):
    """The default program, saved by a worker whose clock reads ``moment``."""
    saving = worker_factory(IssuanceService, db=session, clock=FixedClock(moment),
                            outbox=outbox_writer())
    saving.upsert_program(REGION, {"name": "星空区こども食堂"})


def test_before_this_month_s_issue_day_last_month_s_run_is_due_if_the_timer_started_it(
        session):
    # Created in January after its issue day: the timer started January's run at once.
    program_created_at(session, datetime(2026, 1, 25, 3, 0, tzinfo=timezone.utc))
    an_hour_before = ISSUE_DAY_IN_TOKYO - timedelta(hours=1)

    sample = scrape(session, an_hour_before)

    assert sample("shokudo_issuance_due_issue_day_start_timestamp_seconds") == \
        JANUARY_ISSUE_DAY
    assert sample("shokudo_issuance_due_run_completed") == 0


def test_a_region_created_this_month_before_its_first_issue_day_has_no_run_due(session):
    """The timer never starts last month's run for it, so no alert may wait for that run."""
    program_created_at(session, datetime(2026, 2, 10, 3, 0, tzinfo=timezone.utc))
    an_hour_before = ISSUE_DAY_IN_TOKYO - timedelta(hours=1)

    sample = scrape(session, an_hour_before)

    assert sample("shokudo_issuance_due_issue_day_start_timestamp_seconds") is None
    assert sample("shokudo_issuance_due_run_completed") is None

    sample = scrape(session, ISSUE_DAY_IN_TOKYO)
    assert sample("shokudo_issuance_due_issue_day_start_timestamp_seconds") == \
        FEBRUARY_ISSUE_DAY
    assert sample("shokudo_issuance_due_run_completed") == 0


def test_periods_older_than_the_last_few_leave_the_gauges(
        service, program, add_households, session):
    add_households(1)
    service.start_run(REGION, "2026-02")

    four_months_later = ISSUE_DAY_IN_TOKYO + timedelta(days=120)
    sample = scrape(session, four_months_later)

    assert sample("shokudo_issuance_period_grants", period="2026-02") is None
