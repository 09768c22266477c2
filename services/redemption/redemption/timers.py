"""A nameko timer whose interval operations set in the config, not in code."""

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    """``@ConfiguredTimer.decorator("EXPIRY_TIMER_SECONDS", default=60)``"""

    def __init__(self, config_key, default=60, **kwargs):
        self.config_key = config_key
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.default))
        super().setup()
