"""RPC between services that gives up after a while instead of waiting forever.

nameko's ``RpcProxy`` has no timeout: a callee that is down would hold the caller's worker
until the caller dies too. ``ServiceRpc`` answers :class:`~shokudo_common.errors.Unavailable`
after ``RPC_TIMEOUT_SECONDS`` (config, default 10), which the gateway turns into a 503 with a
``Retry-After`` hint.
"""

import eventlet
from nameko.rpc import RpcProxy

from shokudo_common.errors import Unavailable

DEFAULT_TIMEOUT_SECONDS = 10.0


class ServiceRpc(RpcProxy):
    """``RpcProxy`` whose calls time out."""

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        return _TimedService(proxy, self.target_service, timeout)


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
