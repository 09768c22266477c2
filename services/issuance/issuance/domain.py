"""Issuance in domain terms: when a region's monthly run is due, what it grants, and who gets it.

Each region has a program: an amount in yen, an issue day (1-28) and a time zone. The run for
period M may start once the issue day of M has begun in the region's local time; it gives
every active household of the roster one grant of the program's amount, usable for the whole
of M+1 (local time). Grants are written in batches so that no single transaction or event
grows with the size of the region.

The roster is issuance's own view of enrollment's households: enrolled and reinstated
households are active, suspended ones wait, withdrawn ones never come back.
"""

from dataclasses import dataclass
from datetime import datetime, time

from shokudo_common.errors import InvalidInput
from shokudo_common.periods import Period, local_now, zone_info

DEFAULT_AMOUNT_YEN = 3000
DEFAULT_ISSUE_DAY = 20
DEFAULT_TIME_ZONE = "Asia/Tokyo"

# One transaction and one tickets_issued event per batch: small enough for a consumer to
# handle in one go, large enough that a region of thousands takes a handful of round trips.
BATCH_SIZE = 500

RUNNING, COMPLETED = "running", "completed"

ACTIVE, SUSPENDED, WITHDRAWN = "active", "suspended", "withdrawn"

# What each of enrollment's facts makes of a household in the roster.
ROSTER_STATUS_BY_EVENT = {
    "household_enrolled": ACTIVE,
    "household_reinstated": ACTIVE,
    "household_suspended": SUSPENDED,
    "household_withdrawn": WITHDRAWN,
}


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


def ensure_started(schedule, period, now):
    """Refuse a run whose issue day has not yet come in the region's local time."""
    if not schedule.has_started(period, now):
        starts_at = schedule.issue_starts_at(period)
        raise InvalidInput(
            "period_not_started",
            f"the run for {period} cannot start before {starts_at.isoformat()}",
            {"period": str(period), "starts_at": starts_at.isoformat()},
        )


def roster_status(current, event_type):
    """The household's status in the roster after ``event_type`` (``current`` None if new).

    Each kind of event has its own queue, so facts about one household can arrive out of
    order: a suspension straight after enrolment may be applied first. Two rules keep such
    a late fact from granting tickets to a household that should get none:

    - enrolment is the first fact about a household, so an enrolment that finds the
      household already known is late and changes nothing;
    - withdrawal is final: nothing puts a withdrawn household back on the roster.
    """
    incoming = ROSTER_STATUS_BY_EVENT[event_type]
    if current is None:
        return incoming
    if current == WITHDRAWN or event_type == "household_enrolled":
        return current
    return incoming
