"""How fast one address, login or restaurant may knock: rate limits with the ``limits`` library.

    rule                        counted per        default            protects
    sign_in_per_address         client address     30 per minute      passwords from guessing
    sign_in_per_login           login              10 per 15 minutes  one account from guessing
    activation_per_address      client address     20 per minute      activation codes
    redemption_per_restaurant   restaurant         120 per minute     the counter, card lookups
    failed_lookups              restaurant         20 per 10 minutes  card numbers and QR codes

A redemption declined because its card or QR code could not be looked up counts as a failed
lookup (:data:`FAILED_LOOKUPS`: a card number whose check digit is wrong, a QR token that is not
ours, expired, or a card or token nobody has). Once a restaurant has more than
``GATEWAY_FAILED_LOOKUPS_SLOW_AFTER`` of them in the window, each further failure makes it
pause: its next redemption within ``GATEWAY_FAILED_LOOKUPS_DELAY_SECONDS`` (whole seconds)
is refused with 429 and a Retry-After, so that a till guessing numbers is slowed to one try per
pause. Once the window is full, its redemptions are refused (429) until the oldest failure
leaves the window. Either refusal is ``too_many_failed_lookups``; ``details.rule`` says which
(``failed_lookup_pause`` or ``failed_lookups``). A pause is a 429 rather than a late answer, so
that no gateway worker is held asleep for a guesser. A used code (``qr_token_already_used``) and
a code of another ticket (``qr_token_wrong_household``: last month's code at the turn of the
month, too) were looked up and found, so they are not counted.

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

from limits import RateLimitItemPerSecond, parse_many
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

# Redemption's declines (docs/contracts.md) that say a card or QR code could not be looked up.
FAILED_LOOKUPS = frozenset({"card_number_invalid", "qr_token_invalid", "qr_token_expired",
                            "unknown_card_or_token"})
PAUSE_RULE = "failed_lookup_pause"

THROTTLED = Counter(
    "shokudo_gateway_throttled_total",
    "Requests refused (429) by a rate limit, or pauses started, by rule and what happened",
    ["rule", "action"],
)


class Throttle:
    """What a worker sees: each rule hit once per request, and refused beyond its limits."""

    def __init__(self, limiter, rules, slow_after, delay_seconds, proxy_hops=0):
        self.limiter = limiter
        self.rules = rules
        self.slow_after = slow_after
        self.proxy_hops = proxy_hops
        # One redemption per pause, once past slow_after failures.
        self.pause = RateLimitItemPerSecond(1, max(1, math.ceil(delay_seconds)))

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
        """Refuse a restaurant whose failed card and QR lookups have filled the window, or
        that must still pause after its last one."""
        for limit in self.rules["failed_lookups"]:
            if not self.limiter.test(limit, "failed_lookups", restaurant_id):
                self._refuse_lookups("failed_lookups", limit, restaurant_id)
        if not self.limiter.test(self.pause, PAUSE_RULE, restaurant_id):
            self._refuse_lookups(PAUSE_RULE, self.pause, restaurant_id)

    def _refuse_lookups(self, rule, limit, restaurant_id):
        THROTTLED.labels(rule, "refused").inc()
        raise TooManyRequests(
            "too_many_failed_lookups",
            "too many unknown cards or QR codes from this restaurant; wait before trying again",
            {"rule": rule, "retry_after_seconds": self._wait(limit, rule, restaurant_id)})

    def lookup_answered(self, restaurant_id, reason):
        """Count a redemption declined for a failed lookup; past the first few, start a pause."""
        if reason not in FAILED_LOOKUPS:
            return
        failures = 0
        for limit in self.rules["failed_lookups"]:
            self.limiter.hit(limit, "failed_lookups", restaurant_id)
            stats = self.limiter.get_window_stats(limit, "failed_lookups", restaurant_id)
            failures = max(failures, limit.amount - stats.remaining)
        if failures > self.slow_after:
            THROTTLED.labels(PAUSE_RULE, "paused").inc()
            self.limiter.hit(self.pause, PAUSE_RULE, restaurant_id)

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
