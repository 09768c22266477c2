"""Partner restaurants in domain terms: their lifecycle and their opening hours.

A support organisation nominates a restaurant it trusts (pending); the operator approves it
(active); the operator may suspend it and later reinstate it. Only active restaurants accept
tickets. Opening hours are kept per weekday as local-time spans; a span whose closing time is
not after its opening time runs past midnight (17:00–01:00).
"""

from datetime import time, timedelta

from shokudo_common.errors import Conflict

PENDING, ACTIVE, SUSPENDED = "pending", "active", "suspended"
STATUSES = (PENDING, ACTIVE, SUSPENDED)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Which status each operator action may start from, and where it leads.
TRANSITIONS = {
    "approve": ({PENDING}, ACTIVE),
    "suspend": ({PENDING, ACTIVE}, SUSPENDED),
    "reinstate": ({SUSPENDED}, ACTIVE),
}


def next_status(action, current):
    """Where ``action`` takes a restaurant now in ``current``, or a Conflict naming both."""
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        raise Conflict(
            "restaurant_status_conflict",
            f"the restaurant is {current}; it cannot be {action}d",
            {"status": current, "action": action},
        )
    return target


def parse_clock(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def is_open(opening_hours, local_moment):
    """Whether a restaurant with ``opening_hours`` is open at ``local_moment`` (local time).

    Spans past midnight belong to the day they start on, so Saturday 17:00–01:00 makes the
    restaurant open at 00:30 on Sunday.
    """
    today = WEEKDAYS[local_moment.weekday()]
    yesterday = WEEKDAYS[(local_moment - timedelta(days=1)).weekday()]
    now = local_moment.time().replace(tzinfo=None)
    for span in opening_hours.get(today, []):
        opens, closes = parse_clock(span["opens"]), parse_clock(span["closes"])
        if closes > opens and opens <= now < closes:
            return True
        if closes <= opens and now >= opens:
            return True
    for span in opening_hours.get(yesterday, []):
        opens, closes = parse_clock(span["opens"]), parse_clock(span["closes"])
        if closes <= opens and now < closes:
            return True
    return False
