"""A service's sense of "now": an aware UTC instant, from a dependency that tests replace.

Every rule about windows, issue days and local dates starts from this instant and converts it
to the region's zone; tests inject a :class:`FixedClock` that stands still at the moment they
describe (1 March 08:00 in Tokyo, while the UTC date is still 28 February).
"""

from datetime import datetime, timezone

from nameko.extensions import DependencyProvider


class SystemClock:
    def now(self):
        return datetime.now(tz=timezone.utc)


class FixedClock:
    """A clock that says what the test set, until the test moves it."""

    def __init__(self, moment):
        self.moment = moment

    def now(self):
        return self.moment.astimezone(timezone.utc)

    def set(self, moment):
        self.moment = moment


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return SystemClock()
