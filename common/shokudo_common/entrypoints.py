"""nameko entrypoints as every service uses them: RPC with domain errors, configurable timers.

``rpc`` marks domain errors as expected: nameko then logs them as a warning without a
traceback, and they reach the caller as themselves (see :mod:`shokudo_common.errors`). It also
survives a reply that cannot be sent because the broker went away (see :class:`Rpc`), and
sends its replies without publisher confirms (see :mod:`shokudo_common.rpc` for why).
"""

import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.rpc import Responder, RpcConsumer, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc
from nameko.timer import Timer

from shokudo_common.errors import ShokudoError
from shokudo_common.rpc import UnconfirmedPublisher

log = logging.getLogger(__name__)

REPLY_ERRORS = (ConnectionError, OperationalError, AMQPError)


class UnconfirmedResponder(Responder):
    publisher_cls = UnconfirmedPublisher


class ReplyingRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, whose replies are published without confirms."""

    def setup(self):
        config = self.container.config
        self._reply_settings = (
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            config.get(AMQP_SSL_CONFIG_KEY), config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        super().setup()

    def handle_result(self, message, result, exc_info):
        amqp_uri, exchange, serializer, ssl, login_method = self._reply_settings
        responder = UnconfirmedResponder(amqp_uri, exchange, serializer, message, ssl=ssl,
                                         login_method=login_method)
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(NamekoRpc):
    """nameko's RPC entrypoint, except that a reply lost with the broker is not fatal.

    nameko lets the failure to publish a reply escape from ``handle_result``, which kills the
    whole container: the service then refuses all work and exits once the broker is back. The
    work itself is committed or not as the method decided; only the answer is lost. The
    request was not acknowledged, so RabbitMQ delivers it again once the connection is back,
    and the idempotency key every changing call carries (the gateway gives one to every
    request) makes that second run answer as the first.
    """

    rpc_consumer = ReplyingRpcConsumer()

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
