"""Time as the service sees it: the clock it reads and the timer that wakes it.

Issuance decides from the clock whether a period may start and which run is due. The clock is
a dependency so that tests can replace it with a fixed instant (for example the first minutes
of the 20th in Tokyo, while the UTC date is still the 19th). The timer's interval comes from
the config, so operations can tune it without a release.
"""

from datetime import datetime, timezone

from nameko.extensions import DependencyProvider
from nameko.timer import Timer


class SystemClock:
    def now(self):
        """The current instant, aware and in UTC; callers convert to a region's zone."""
        return datetime.now(tz=timezone.utc)


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return SystemClock()


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from the service config, not fixed in code.

    ``@ConfiguredTimer.decorator("ISSUANCE_TIMER_SECONDS", default=60)``
    """

    def __init__(self, config_key, default=60, **kwargs):
        self.config_key = config_key
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.default))
        super().setup()
