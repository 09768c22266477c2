"""The service's sense of "now": always an aware UTC instant, replaceable in tests.

Every rule about windows and local days starts from this instant; tests inject a clock that
stands still at the moment they describe (1 March 08:00 in Tokyo, say).
"""

from datetime import datetime, timezone

from nameko.extensions import DependencyProvider


def utc_now():
    return datetime.now(tz=timezone.utc)


class Clock(DependencyProvider):
    """Gives each worker a function answering the current aware UTC instant."""

    def get_dependency(self, worker_ctx):
        return utc_now
