"""Telling redemption's counter at once that a household or a card has changed.

Events reach redemption a few milliseconds after enrollment commits. For a suspension, a
withdrawal or a lost card that is too late: once the organisation has been told "suspended" or
"replaced", no restaurant may still take the old status or the old number. So after committing,
enrollment hands the very facts it staged in its outbox to redemption over RPC, and answers the
organisation only once redemption has applied them::

    enrollment ── change + outbox fact ── COMMIT ── redemption.apply_…(fact) ── answer
                                            │         (same projection, ordered by version)
                                            └── relay ── event ── redemption (changes nothing
                                                                   if the RPC came first)

Redemption applies the RPC and the event through the same projection code, which keeps the
newest version of a household and never unblocks a card, so the two are idempotent together
and their order does not matter.

If redemption does not answer (down, slow, an older version), the change stands: it is
committed and its event will catch up. The answer then says ``in_force_at_counter: false`` so
the organisation knows, the failure is logged and counted.
"""

import logging

from prometheus_client import Counter

from shokudo_common.rpc import ServiceRpc, wait_for_reply

log = logging.getLogger(__name__)

TIMEOUT_CONFIG_KEY = "COUNTER_RPC_TIMEOUT_SECONDS"
# Shorter than the gateway's own RPC timeout, so that a silent redemption still leaves time to
# answer the organisation before the gateway gives up on enrollment.
DEFAULT_TIMEOUT_SECONDS = 3.0

COUNTER_UPDATES = Counter(
    "shokudo_changes_pushed_to_redemption_total",
    "Household and card changes pushed to redemption before answering: applied at once, or"
    " left to the event (pending) because redemption did not answer",
    ["change", "outcome"],
)


class RedemptionCounter(ServiceRpc):
    """RPC to redemption for changes that must hold at the counter before enrollment answers."""

    def __init__(self, **options):
        super().__init__("redemption", **options)

    def get_dependency(self, worker_ctx):
        proxy = self.methods(worker_ctx)
        timeout = float(self.container.config.get(TIMEOUT_CONFIG_KEY, DEFAULT_TIMEOUT_SECONDS))
        return CounterUpdates(proxy, timeout)


class CounterUpdates:
    """What a worker sees: each method answers whether the change is in force at the counter."""

    def __init__(self, proxy, timeout):
        self._proxy = proxy
        self._timeout = timeout

    def household_status(self, fact):
        """Apply a household_* fact (suspended, reinstated, withdrawn) at the counter."""
        return self._push("household_status", "apply_household_status", fact)

    def household_move(self, fact):
        """Apply a household_moved fact at the counter: the household's usage follows it."""
        return self._push("household_move", "apply_household_move", fact)

    def card_replacement(self, blocked, issued):
        """Apply a card_blocked and a card_issued fact at the counter, in one transaction."""
        return self._push("card_replacement", "apply_card_replacement", blocked, issued)

    def card_blocked(self, blocked):
        """Apply a card_blocked fact at the counter: a lost card with no new one yet."""
        return self._push("card_block", "apply_card_blocked", blocked)

    def _push(self, change, method_name, *facts):
        try:
            reply = getattr(self._proxy, method_name).call_async(*facts)
            wait_for_reply(reply, "redemption", self._timeout)
        # Whatever went wrong over there, the change is committed here and its event will
        # follow: the organisation's call must not fail because redemption did not answer.
        except Exception as error:  # noqa: BLE001
            COUNTER_UPDATES.labels(change, "pending").inc()
            log.warning("change not yet in force at the counter; its event will follow", extra={
                "change": change, "household_id": facts[0].get("household_id"),
                "error": type(error).__name__,
            })
            return False
        COUNTER_UPDATES.labels(change, "applied").inc()
        return True
