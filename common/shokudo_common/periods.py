"""Periods (calendar months) and validity windows, always in a region's own time zone.

A ticket issued in month M may be used from the 1st of M+1, 00:00 local time, until the 1st of
M+2, 00:00 local time (exclusive). Windows are kept as two aware datetimes so that checks
compare instants, never dates in UTC.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Months of this millennium only: year 0 has no calendar in Python (a 500, found by the API
# contract test) and a year 9999 has no next month to be usable in.
_PERIOD = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text):
        match = _PERIOD.match(text or "")
        if not match:
            raise ValueError(f"period must look like 2026-03 (years 2000 to 2999), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment):
        return cls(moment.year, moment.month)

    def __str__(self):
        return f"{self.year:04d}-{self.month:02d}"

    def next(self):
        if self.month == 12:
            return Period(self.year + 1, 1)
        return Period(self.year, self.month + 1)

    def previous(self):
        if self.month == 1:
            return Period(self.year - 1, 12)
        return Period(self.year, self.month - 1)

    def first_day(self):
        return date(self.year, self.month, 1)

    def last_day(self):
        return self.next().first_day() - timedelta(days=1)

    def starts_at(self, zone):
        """The instant this month begins in ``zone``."""
        return datetime.combine(self.first_day(), time(0), tzinfo=zone_info(zone))


@dataclass(frozen=True)
class ValidityWindow:
    """Half-open interval [starts_at, ends_at) of instants when a ticket can be spent."""

    starts_at: datetime
    ends_at: datetime
    first_day: date
    last_day: date

    def contains(self, moment):
        return self.starts_at <= moment < self.ends_at


def validity_window(issue_period, zone):
    """Tickets issued in ``issue_period`` are usable for the whole following month."""
    usable = issue_period.next()
    return ValidityWindow(
        starts_at=usable.starts_at(zone),
        ends_at=usable.next().starts_at(zone),
        first_day=usable.first_day(),
        last_day=usable.last_day(),
    )


def zone_info(name):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def local_now(zone, now=None):
    moment = now or datetime.now(tz=ZoneInfo("UTC"))
    return moment.astimezone(zone_info(zone))
