"""nameko entrypoints as every service uses them: RPC with domain errors, configurable timers.

``rpc`` marks domain errors as expected: nameko then logs them as a warning without a
traceback, and they reach the caller as themselves (see :mod:`shokudo_common.errors`). It also
survives a reply that cannot be sent because the broker went away (see :class:`Rpc`).
"""

import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.rpc import Rpc as NamekoRpc
from nameko.timer import Timer

from shokudo_common.errors import ShokudoError

log = logging.getLogger(__name__)

REPLY_ERRORS = (ConnectionError, OperationalError, AMQPError)


class Rpc(NamekoRpc):
    """nameko's RPC entrypoint, except that a reply lost with the broker is not fatal.

    nameko lets the failure to publish a reply escape from ``handle_result``, which kills the
    whole container: the service then refuses all work and exits once the broker is back. The
    work itself is committed or not as the method decided; only the answer is lost. The
    request was not acknowledged, so RabbitMQ delivers it again once the connection is back,
    and the idempotency key every changing call carries (the gateway gives one to every
    request) makes that second run answer as the first.
    """

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except REPLY_ERRORS as error:
            log.warning("rpc reply lost with the broker connection", extra={
                "method": self.method_name, "error": type(error).__name__,
            })
            return result, exc_info


# Called once here: nameko's bare ``@rpc`` form would drop keyword arguments given later.
rpc = Rpc.decorator(expected_exceptions=ShokudoError)


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
