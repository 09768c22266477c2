"""nameko entrypoints as every service uses them: RPC with domain errors, configurable timers.

``rpc`` marks domain errors as expected: nameko then logs them as a warning without a
traceback, and they reach the caller as themselves (see :mod:`shokudo_common.errors`).
"""

from nameko.rpc import rpc as nameko_rpc
from nameko.timer import Timer

from shokudo_common.errors import ShokudoError

# Called once here: nameko's bare ``@rpc`` form would drop keyword arguments given later.
rpc = nameko_rpc(expected_exceptions=ShokudoError)


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from the service config, so operations can tune
    it without a release: ``@ConfiguredTimer.decorator("EXPIRY_TIMER_SECONDS", default=60)``.

    Every replica runs its timers; what a timer does must be safe when done twice at once.
    """

    def __init__(self, config_key, default=60, **kwargs):
        self.config_key = config_key
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.default))
        super().setup()
