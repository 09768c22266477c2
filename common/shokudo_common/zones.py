"""Region time zones a process read lately, remembered for a minute.

A region's zone changes perhaps once in its life (a new program). A service that needs it for
every search or receipt remembers what it read for ``MEMORY_SECONDS``: one query less each
time, at the price of judging in the old zone for up to a minute after a change, and of
another replica's change reaching this one that much later.
"""

import time

MEMORY_SECONDS = 60


class RegionZones:
    """Region id -> the time zone this process read, until ``MEMORY_SECONDS`` after."""

    def __init__(self, memory_seconds=MEMORY_SECONDS):
        self._memory_seconds = memory_seconds
        self._known = {}

    def get(self, region_id):
        """The zone remembered for ``region_id``, or None when it is unknown or too old."""
        zone, until = self._known.get(region_id, (None, 0.0))
        return zone if time.monotonic() < until else None

    def remember(self, region_id, zone):
        self._known[region_id] = (zone, time.monotonic() + self._memory_seconds)

    def forget_all(self):
        self._known.clear()
