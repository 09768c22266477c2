"""Business metrics of issuance, labelled by region and period only (never by household).

The counters count what this process did. The gauges are read from the database on each
scrape (:mod:`shokudo_common.gauges`), so that every replica tells the same story: per region,
when the issue day of the latest due period began and whether its run has completed (what the
alert "issuance not completed the day after the issue day" reads), and the grants and yen of
the last few periods.
"""

from prometheus_client import Counter, Gauge
from sqlalchemy import select

from shokudo_common import gauges
from shokudo_common.periods import Period

from issuance import domain
from issuance.models import Program, Run

GRANTS_ISSUED = Counter(
    "shokudo_grants_issued_total",
    "Grants (one meal ticket for one household and period) committed by issuance runs",
    ["region_id"],
)
GRANTED_YEN = Counter(
    "shokudo_granted_yen_total",
    "Yen granted to households by issuance runs",
    ["region_id"],
)
RUNS_COMPLETED = Counter(
    "shokudo_issuance_runs_completed_total",
    "Issuance runs that granted their last household and were marked completed",
    ["region_id"],
)
STALE_FACTS = Counter(
    "shokudo_roster_stale_facts_ignored_total",
    "Facts about a household that were older than (or as old as) the one the roster keeps,"
    " and so changed nothing",
    ["event_type"],
)

DUE_ISSUE_DAY_STARTED = Gauge(
    "shokudo_issuance_due_issue_day_start_timestamp_seconds",
    "When the issue day of the region's latest due period began (Unix time)",
    ["region_id"],
)
DUE_RUN_COMPLETED = Gauge(
    "shokudo_issuance_due_run_completed",
    "1 when the run of the region's latest due period has completed, else 0",
    ["region_id"],
)
PERIOD_GRANTS = Gauge(
    "shokudo_issuance_period_grants",
    "Grants committed for a region and period (the last few periods only)",
    ["region_id", "period"],
)
PERIOD_GRANTED_YEN = Gauge(
    "shokudo_issuance_period_granted_yen",
    "Yen granted for a region and period (the last few periods only)",
    ["region_id", "period"],
)

# Enough to compare this month with the two before; older periods leave the gauges.
PERIODS_SHOWN = 3


@gauges.on_scrape("issuance")
def issuance_state(session, now):
    _due_runs(session, now)
    _recent_periods(session, now)


def _due_runs(session, now):
    due = []
    for program in session.scalars(select(Program)).all():
        schedule = domain.Schedule(issue_day=program.issue_day, time_zone=program.time_zone)
        period = schedule.latest_due_period(now, since=program.created_at)
        if period is None:
            continue
        status = session.scalar(select(Run.status).where(
            Run.region_id == program.region_id, Run.period == str(period)))
        due.append((program.region_id, schedule.issue_starts_at(period), status))

    # Set afresh once everything is read (a failed read keeps the previous values): a region
    # with no run due yet (new, before its first issue day) reports no due run at all, rather
    # than one that nothing would ever start.
    DUE_ISSUE_DAY_STARTED.clear()
    DUE_RUN_COMPLETED.clear()
    for region_id, issue_starts_at, status in due:
        DUE_ISSUE_DAY_STARTED.labels(region_id).set(issue_starts_at.timestamp())
        DUE_RUN_COMPLETED.labels(region_id).set(int(status == domain.COMPLETED))


def _recent_periods(session, now):
    oldest = Period.of(now)
    for _ in range(PERIODS_SHOWN):
        oldest = oldest.previous()
    rows = session.execute(select(Run.region_id, Run.period, Run.households, Run.yen_granted)
                           .where(Run.period > str(oldest))).all()
    PERIOD_GRANTS.clear()
    PERIOD_GRANTED_YEN.clear()
    for row in rows:
        PERIOD_GRANTS.labels(row.region_id, row.period).set(row.households)
        PERIOD_GRANTED_YEN.labels(row.region_id, row.period).set(row.yen_granted)
