"""How fast one address, login or restaurant may knock: rate limits with the ``limits`` library.

    rule                        counted per        default            protects
    sign_in_per_address         client address     30 per minute      passwords from guessing
    sign_in_per_login           login              10 per 15 minutes  one account from guessing
    activation_per_address      client address     20 per minute      activation codes
    redemption_per_restaurant   restaurant         120 per minute     the counter, card lookups
    failed_lookups              restaurant         20 per 10 minutes  card numbers and QR codes

A redemption that declines an unknown card or QR token counts as a failed lookup. Once a
restaurant has more than ``GATEWAY_FAILED_LOOKUPS_SLOW_AFTER`` of them in the window, each
further decline is answered only after ``GATEWAY_FAILED_LOOKUPS_DELAY_SECONDS``; once the window
is full, its redemptions are refused (429) until the oldest failure leaves the window.

A client's address is the gateway socket's peer, unless ``GATEWAY_TRUSTED_PROXY_HOPS`` says how
many proxies of ours stand in front (an ingress, a load balancer): then it is the address the
outermost of them saw, read from ``X-Forwarded-For`` counting from the right. Addresses further
left were written by the client itself and could be anything.

Counts live in ``GATEWAY_RATE_LIMIT_STORAGE``: ``memory://`` (the default) counts per gateway
replica, so N replicas let N times as much through; ``redis://host:6379`` shares the counts
between replicas, as production should (the ``redis`` package is installed for it).
"""

import math
import time

import eventlet
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from gateway.errors import TooManyRequests

DEFAULT_RULES = {
    "sign_in_per_address": "30/minute",
    "sign_in_per_login": "10/15 minutes",
    "activation_per_address": "20/minute",
    "redemption_per_restaurant": "120/minute",
    "failed_lookups": "20/10 minutes",
}

THROTTLED = Counter(
    "shokudo_gateway_throttled_total",
    "Requests refused (429) or slowed by a rate limit, by rule and what happened",
    ["rule", "action"],
)


class Throttle:
    """What a worker sees: each rule hit once per request, and refused beyond its limits."""

    def __init__(self, limiter, rules, slow_after, delay_seconds, proxy_hops=0):
        self.limiter = limiter
        self.rules = rules
        self.slow_after = slow_after
        self.delay_seconds = delay_seconds
        self.proxy_hops = proxy_hops

    def client_address(self, request):
        return client_address(request, self.proxy_hops)

    def hit(self, rule, key):
        """Count one request for ``key`` under ``rule``, or refuse it with a 429."""
        for limit in self.rules[rule]:
            if not self.limiter.hit(limit, rule, key):
                THROTTLED.labels(rule, "refused").inc()
                raise TooManyRequests(
                    "rate_limited", "too many requests; wait before trying again",
                    {"rule": rule, "retry_after_seconds": self._wait(limit, rule, key)})

    def refuse_after_failed_lookups(self, restaurant_id):
        """Refuse a restaurant whose failed card and QR lookups have filled the window."""
        for limit in self.rules["failed_lookups"]:
            if not self.limiter.test(limit, "failed_lookups", restaurant_id):
                THROTTLED.labels("failed_lookups", "refused").inc()
                raise TooManyRequests(
                    "too_many_failed_lookups",
                    "too many unknown cards or QR codes from this restaurant; wait before "
                    "trying again",
                    {"rule": "failed_lookups",
                     "retry_after_seconds": self._wait(limit, "failed_lookups", restaurant_id)})

    def failed_lookup(self, restaurant_id):
        """Count a failed lookup; beyond the first few, the answer waits a little."""
        for limit in self.rules["failed_lookups"]:
            self.limiter.hit(limit, "failed_lookups", restaurant_id)
            stats = self.limiter.get_window_stats(limit, "failed_lookups", restaurant_id)
            if limit.amount - stats.remaining > self.slow_after:
                THROTTLED.labels("failed_lookups", "slowed").inc()
                eventlet.sleep(self.delay_seconds)
                return

    def _wait(self, limit, *key):
        reset_at = self.limiter.get_window_stats(limit, *key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


class RateLimits(DependencyProvider):
    """Reads the rules and the storage from config once; the counts outlive every worker."""

    def setup(self):
        config = self.container.config
        self.storage = storage_from_string(config.get("GATEWAY_RATE_LIMIT_STORAGE") or
                                           "memory://")
        configured = config.get("GATEWAY_RATE_LIMITS") or {}
        self.rules = {name: parse_many(str(configured.get(name) or default))
                      for name, default in DEFAULT_RULES.items()}
        self.slow_after = int(config.get("GATEWAY_FAILED_LOOKUPS_SLOW_AFTER", 5))
        self.delay_seconds = float(config.get("GATEWAY_FAILED_LOOKUPS_DELAY_SECONDS", 2))
        self.proxy_hops = int(config.get("GATEWAY_TRUSTED_PROXY_HOPS", 0))
        self.limiter = MovingWindowRateLimiter(self.storage)

    def reset(self):
        """Forget every count (tests start each case afresh)."""
        self.storage.reset()

    def get_dependency(self, worker_ctx):
        return Throttle(self.limiter, self.rules, self.slow_after, self.delay_seconds,
                        self.proxy_hops)


def client_address(request, proxy_hops=0):
    """The client's address, behind ``proxy_hops`` trusted proxies (see the module's notes)."""
    if proxy_hops > 0:
        forwarded = [hop.strip() for hop in
                     request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if len(forwarded) >= proxy_hops:
            return forwarded[-proxy_hops]
    return request.remote_addr or "unknown"
