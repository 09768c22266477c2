"""Issuance in domain terms: when a region's monthly run is due, what it grants, and who gets it.

Each region has a program: an amount in yen, an issue day (1-28) and a time zone. The run for
period M may start once the issue day of M has begun in the region's local time; it gives
every active household of the roster one grant of the program's amount, usable for the whole
of M+1 (local time). Grants are written in batches so that no single transaction or event
grows with the size of the region.

The roster is issuance's own view of enrollment's households: enrolled and reinstated
households are active, suspended ones wait, withdrawn ones never come back. Enrollment numbers
each household's announced changes, and the roster keeps the newest fact it has seen.
"""

from dataclasses import dataclass
from datetime import datetime, time

from shokudo_common.errors import InvalidInput
from shokudo_common.periods import Period, local_now, zone_info

DEFAULT_AMOUNT_YEN = 3000
DEFAULT_ISSUE_DAY = 20
DEFAULT_TIME_ZONE = "Asia/Tokyo"

# How long a restaurant may void its redemption: 0 means until the end of the redemption's
# local day, otherwise that many hours after it.
DEFAULT_VOID_WINDOW_HOURS = 0
MAX_VOID_WINDOW_HOURS = 72

# A household enrolled after its region's run for a period: its grant now, or from the next.
GRANT_NOW, NEXT_PERIOD = "grant_now", "next_period"
LATE_ENROLMENT_CHOICES = (GRANT_NOW, NEXT_PERIOD)
DEFAULT_LATE_ENROLMENT = GRANT_NOW

# Where a region's households may use their tickets: at any partner restaurant of the region
# (the default), or only at those their own organisation nominated.
ANY_RESTAURANT_OF_REGION, OWN_ORGANISATION_RESTAURANTS = "region", "own_organisation"
RESTAURANT_SCOPES = (ANY_RESTAURANT_OF_REGION, OWN_ORGANISATION_RESTAURANTS)
DEFAULT_RESTAURANT_SCOPE = ANY_RESTAURANT_OF_REGION

# One transaction and one tickets_issued event per batch: small enough for a consumer to
# handle in one go, large enough that a region of thousands takes a handful of round trips.
BATCH_SIZE = 500

RUNNING, COMPLETED = "running", "completed"

ACTIVE, SUSPENDED, WITHDRAWN = "active", "suspended", "withdrawn"

# What each of enrollment's facts makes of a household, for a fact that does not say it.
ROSTER_STATUS_BY_EVENT = {
    "household_enrolled": ACTIVE,
    "household_reinstated": ACTIVE,
    "household_suspended": SUSPENDED,
    "household_withdrawn": WITHDRAWN,
}

# The version the roster keeps for what it learnt from facts published before enrollment
# numbered its changes (enrollment's first number is 1).
UNNUMBERED = 0


@dataclass(frozen=True)
class Schedule:
    """The part of a program that decides when its runs happen."""

    issue_day: int
    time_zone: str

    def issue_starts_at(self, period):
        """The instant the issue day of ``period`` begins in the region's time zone."""
        day = period.first_day().replace(day=self.issue_day)
        return datetime.combine(day, time(0), tzinfo=zone_info(self.time_zone))

    def has_started(self, period, now):
        return now >= self.issue_starts_at(period)

    def due_period(self, now):
        """The period whose run should exist at ``now``, or None before this month's issue day.

        The month is the local month: at 00:30 on the 1st in Tokyo the UTC date is still in
        the month before, and it is Tokyo's month that counts.
        """
        period = Period.of(local_now(self.time_zone, now))
        return period if self.has_started(period, now) else None

    def latest_due_period(self, now, since):
        """The newest period whose run the timer has started by ``now``, or None.

        ``since`` is when the program was created. The timer starts a period's run on any tick
        from its issue day to the end of its local month (:meth:`due_period`), and never later.
        So before this month's issue day it is last month's run, but only if the program
        existed before this month began: a region created this month, before its first issue
        day, has no run due yet.
        """
        due = self.due_period(now)
        if due is not None:
            return due
        this_month = Period.of(local_now(self.time_zone, now))
        if since < this_month.starts_at(self.time_zone):
            return this_month.previous()
        return None


def ensure_started(schedule, period, now):
    """Refuse a run whose issue day has not yet come in the region's local time."""
    if not schedule.has_started(period, now):
        starts_at = schedule.issue_starts_at(period)
        raise InvalidInput(
            "period_not_started",
            f"the run for {period} cannot start before {starts_at.isoformat()}",
            {"period": str(period), "starts_at": starts_at.isoformat()},
        )


@dataclass(frozen=True)
class RosterEntry:
    """What the roster keeps of a household: its status and the version of the fact that set it."""

    status: str
    version: int


def roster_entry(kept, event_type, status=None, version=None):
    """The roster's entry after a fact, or None when the fact is older than ``kept``.

    ``kept`` is the entry the roster holds (None for a household not heard of yet); ``status``
    and ``version`` come from the fact, whose type stands in for a status it does not carry.

    Each kind of fact has its own queue and the service runs in several replicas, so the facts
    about one household arrive in any order: a suspension before the enrolment it follows, a
    reinstatement before the suspension it ends. Enrollment gives each announced change the
    next version (1, 2, 3...), so only a higher version than the one kept is news; an older or
    equal one is late or repeated and changes nothing. A household heard of first through a
    late fact is entered with that fact's status and version, and the newer facts correct it.
    """
    incoming = status or ROSTER_STATUS_BY_EVENT[event_type]
    if kept is None:
        return RosterEntry(incoming, version or UNNUMBERED)
    if version is not None:
        return RosterEntry(incoming, version) if version > kept.version else None
    return _unnumbered_entry(kept, event_type, incoming)


def _unnumbered_entry(kept, event_type, incoming):
    """A fact published before versions existed: older than any numbered one.

    Until a numbered fact arrives the roster falls back on what it knew without versions: an
    enrolment that finds the household known is late, and withdrawal is final.
    """
    if kept.version != UNNUMBERED:
        return None
    if kept.status == WITHDRAWN or event_type == "household_enrolled":
        return None
    return RosterEntry(incoming, UNNUMBERED)


def program_updated(program):
    """The ``program_updated`` fact: a region's settings and the program's name, which is
    public (the printed restaurant list carries it)."""
    return {
        "region_id": program.region_id,
        "name": program.name,
        "amount_yen": program.amount_yen,
        "issue_day": program.issue_day,
        "time_zone": program.time_zone,
        "void_window_hours": program.void_window_hours,
        "late_enrolment": program.late_enrolment,
        "restaurant_scope": program.restaurant_scope,
    }


# What a household that becomes active gets from its region's latest run (see late_grant).
IN_RUN, GRANTED, DEFERRED, WINDOW_CLOSED = "in_run", "granted", "next_period", "window_closed"


def late_grant(run_status, valid_until, late_enrolment, now):
    """What a household enrolled or reinstated at ``now`` gets from its region's latest run.

    ``run_status`` and ``valid_until`` describe the run of the region's latest period (None
    for a region that has never run). Before that run has completed the household is not late:
    a running run grants it in a later batch, and a region without a run grants it in its
    first (IN_RUN). Once it has completed, the program decides: ``grant_now`` gives the
    household that run's grant (GRANTED), ``next_period`` lets it wait for the next run
    (DEFERRED). A run whose tickets can no longer be used grants nothing late (WINDOW_CLOSED):
    only the latest run counts, never an older period's.
    """
    if run_status != COMPLETED:
        return IN_RUN
    if now >= valid_until:
        return WINDOW_CLOSED
    if late_enrolment == NEXT_PERIOD:
        return DEFERRED
    return GRANTED
