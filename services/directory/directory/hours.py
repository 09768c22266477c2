"""Opening hours: the format restaurants give, the rule for "open now", and how it reads.

The format, as nominations and ``demo/data/restaurants.json`` write it: each weekday (``mon`` …
``sun``) lists the spans the restaurant is open, in the region's local time::

    {"fri": [{"opens": "11:30", "closes": "14:00"}, {"opens": "17:00", "closes": "01:00"}],
     "sun": []}

A day left out or empty is a closed day (定休日). A span whose closing time is not after its
opening time runs past midnight and belongs to the day it starts on: Saturday 17:00–01:00
keeps the restaurant open until 01:00 on Sunday; 11:00–00:00 closes at midnight; a span that
closes when it opens lasts 24 hours (00:00–00:00 is open all day). Two spans may not overlap.

For searching, the spans become minutes of the week (Monday 00:00 is 0): Saturday 17:00–01:00
is [8220, 8700). A span past Sunday midnight wraps round to Monday morning. The database
keeps them as an ``int4multirange``, so "open now" is one containment test per restaurant.
"""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def clock_minutes(text):
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def week_spans(opening_hours):
    """The open spans as half-open [start, end) minutes of the week, in weekday order."""
    spans = []
    for day, name in enumerate(WEEKDAYS):
        for span in opening_hours.get(name) or []:
            opens, closes = clock_minutes(span["opens"]), clock_minutes(span["closes"])
            start = day * MINUTES_PER_DAY + opens
            end = day * MINUTES_PER_DAY + closes
            if closes <= opens:
                end += MINUTES_PER_DAY
            spans.extend(_wrapped(start, end))
    return sorted(spans)


def _wrapped(start, end):
    # Sunday night past midnight is Monday morning of the same (repeating) week.
    if end <= MINUTES_PER_WEEK:
        return [(start, end)]
    return [(start, MINUTES_PER_WEEK), (0, end - MINUTES_PER_WEEK)]


def problems(opening_hours):
    """What is wrong with well-formed hours as a whole, as {weekday: [message]}."""
    found = {}
    spans = week_spans(opening_hours)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            day = WEEKDAYS[start // MINUTES_PER_DAY]
            found.setdefault(day, []).append("spans overlap (a span past midnight included)")
    return found


def minute_of_week(local_moment):
    return local_moment.weekday() * MINUTES_PER_DAY + local_moment.hour * 60 + local_moment.minute


def is_open(opening_hours, local_moment):
    """Whether a restaurant with ``opening_hours`` is open at ``local_moment`` (local time)."""
    minute = minute_of_week(local_moment)
    return any(start <= minute < end for start, end in week_spans(opening_hours))


def as_multirange(opening_hours):
    """The spans written as a PostgreSQL ``int4multirange`` literal: ``{[8220,8700)}``."""
    return "{" + ",".join(f"[{start},{end})" for start, end in week_spans(opening_hours)) + "}"


# -- how the hours read on a printed list ----------------------------------------------------

def readable_ja(opening_hours):
    """The hours in plain Japanese, consecutive days with the same spans put together.

    ``{"mon"…"fri": 11:00–15:00, "sat": 17:00–01:00}`` reads
    ``月〜金 11:00〜15:00 / 土 17:00〜翌1:00 / 日 定休日``.
    """
    groups = []
    for day, name in enumerate(WEEKDAYS):
        spans = _readable_spans(opening_hours.get(name) or [])
        if groups and groups[-1][2] == spans and groups[-1][1] == day - 1:
            groups[-1][1] = day
        else:
            groups.append([day, day, spans])
    return " / ".join(f"{_days(first, last)} {spans}" for first, last, spans in groups)


def _readable_spans(spans):
    if not spans:
        return "定休日"
    return "、".join(_readable_span(span) for span in spans)


def _readable_span(span):
    if span["opens"] == span["closes"]:
        return f"{span['opens']}から24時間"
    return f"{span['opens']}〜{_closing(span)}"


def _closing(span):
    # Past midnight reads as "翌1:00" (1:00 the next day); midnight itself as 24:00.
    if span["closes"] == "00:00":
        return "24:00"
    if clock_minutes(span["closes"]) < clock_minutes(span["opens"]):
        hours, minutes = span["closes"].split(":")
        return f"翌{int(hours)}:{minutes}"
    return span["closes"]


def _days(first, last):
    if first == last:
        return WEEKDAYS_JA[first]
    if last == first + 1:
        return f"{WEEKDAYS_JA[first]}・{WEEKDAYS_JA[last]}"
    return f"{WEEKDAYS_JA[first]}〜{WEEKDAYS_JA[last]}"

