"""Partner restaurants in domain terms: their lifecycle from nomination to suspension.

A support organisation nominates a restaurant it trusts (pending); the operator approves it
(active); the operator may suspend it and later reinstate it. Only active restaurants accept
tickets, and only they are found by families. Opening hours are in :mod:`directory.hours`,
the flags in :mod:`directory.flags`, finding restaurants in :mod:`directory.search`.
"""

from shokudo_common.errors import Conflict

PENDING, ACTIVE, SUSPENDED = "pending", "active", "suspended"
STATUSES = (PENDING, ACTIVE, SUSPENDED)

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

