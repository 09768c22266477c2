"""The timer that wakes issuance to start due runs (the clock it reads is shokudo_common's).

The timer's interval comes from the config, so operations can tune it without a release.
"""

from nameko.timer import Timer


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
