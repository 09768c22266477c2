"""RPC between services that gives up after a while instead of waiting forever.

nameko's ``RpcProxy`` has no timeout: a callee that is down would hold the caller's worker
until the caller dies too. ``ServiceRpc`` answers :class:`~shokudo_common.errors.Unavailable`
after ``RPC_TIMEOUT_SECONDS`` (config, default 10), which the gateway turns into a 503 with a
``Retry-After`` hint.

Requests and replies are published **without publisher confirms** (both here and in
:class:`shokudo_common.entrypoints.Rpc`). A confirm is a round trip to the broker on every
publish, twice per call, for a guarantee the caller cannot use: whatever happens to a request
or its reply (lost with the broker, callee down, callee slow), the caller learns nothing
before its timeout and answers 503, and the client sends the request again with the same
idempotency key, which has its effect once (shokudo_common.idempotency). Replies went to a
non-durable reply queue, lost with the broker whether confirmed or not. Facts, which must
never be lost, do not travel this way: the outbox relay keeps its confirms
(shokudo_common.outbox).

What confirms gave besides: nameko's ``UnknownService`` for a call to a service whose queue
was never declared. Without confirms such a call times out into the same 503 instead (the
queues of every service are declared at deploy, shokudo_common.topology, so this means a
service was never deployed).
"""

import eventlet
from nameko.amqp.publish import Publisher
from nameko.rpc import MethodProxy, RpcProxy

from shokudo_common.errors import Unavailable

DEFAULT_TIMEOUT_SECONDS = 10.0


class UnconfirmedPublisher(Publisher):
    """nameko's publisher without confirms, and without ``mandatory``: an unroutable message
    comes back as a basic.return that only a confirm wait would ever read."""

    use_confirms = False

    def publish(self, payload, **kwargs):
        kwargs["mandatory"] = False
        return super().publish(payload, **kwargs)


class UnconfirmedMethodProxy(MethodProxy):
    publisher_cls = UnconfirmedPublisher


class ServiceRpc(RpcProxy):
    """``RpcProxy`` whose calls time out, published without confirms."""

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        return _TimedService(self.methods(worker_ctx), self.target_service, timeout)

    def methods(self, worker_ctx):
        """The callee's methods as this worker calls them: ``methods(ctx).name.call_async()``."""
        return _Methods(worker_ctx, self.target_service, self.rpc_reply_listener, self.options)


class _Methods:
    def __init__(self, worker_ctx, service_name, reply_listener, options):
        self._worker_ctx = worker_ctx
        self._service_name = service_name
        self._reply_listener = reply_listener
        self._options = options

    def __getattr__(self, method_name):
        return UnconfirmedMethodProxy(self._worker_ctx, self._service_name, method_name,
                                      self._reply_listener, **self._options)


class _TimedService:
    def __init__(self, proxy, service_name, timeout):
        self._proxy = proxy
        self._service_name = service_name
        self._timeout = timeout

    def __getattr__(self, method_name):
        method = getattr(self._proxy, method_name)

        def call(*args, **kwargs):
            reply = method.call_async(*args, **kwargs)
            return wait_for_reply(reply, self._service_name, self._timeout)

        return call

    def send(self, method_name, *args, **kwargs):
        """Ask for ``method_name`` without waiting for its answer (which is dropped)."""
        getattr(self._proxy, method_name).call_async(*args, **kwargs)


def wait_for_reply(reply, service_name, timeout):
    timer = eventlet.Timeout(timeout)
    try:
        return reply.result()
    except eventlet.Timeout as expired:
        if expired is not timer:
            raise
        raise Unavailable(
            "service_unavailable",
            f"the {service_name} service did not answer within {timeout:g} s; try again shortly",
            {"service": service_name, "retry_after_seconds": 5},
        ) from None
    finally:
        timer.cancel()
