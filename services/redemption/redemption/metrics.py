"""Business metrics of the counter, for Prometheus. Labels carry regions and reasons only."""

from prometheus_client import Counter

REDEEMED_YEN = Counter(
    "shokudo_redeemed_yen_total",
    "Yen paid by meal tickets at partner restaurants",
    ["region_id"],
)
REDEMPTIONS = Counter(
    "shokudo_redemptions_total",
    "Redemption attempts at the counter, by region and outcome (applied or declined)",
    ["region_id", "outcome"],
)
DECLINES = Counter(
    "shokudo_redemptions_declined_total",
    "Redemption attempts declined, by region (of the restaurant) and reason",
    ["region_id", "reason"],
)
UNKNOWN_REGION = "unknown"

COUNTER_PAID_YEN = Counter(
    "shokudo_paid_by_families_yen_total",
    # Not "counter_...": to Prometheus's lint that word names the metric's type, not the till.
    "Yen families paid themselves at the restaurant because the bill was larger than the"
    " balance",
    ["region_id"],
)

STALE_FACTS = Counter(
    "shokudo_projection_stale_facts_ignored_total",
    "Facts about a restaurant or household that were older than (or as old as) the one kept,"
    " and so changed nothing",
    ["event_type"],
)


def count_applied(region_id, split):
    REDEMPTIONS.labels(region_id, "applied").inc()
    REDEEMED_YEN.labels(region_id).inc(split.applied_yen)
    COUNTER_PAID_YEN.labels(region_id).inc(split.pay_at_counter_yen)


def count_declined(reason, region_id=None):
    """A restaurant unknown to redemption has no region: its declines count as ``unknown``."""
    region = region_id or UNKNOWN_REGION
    REDEMPTIONS.labels(region, "declined").inc()
    DECLINES.labels(region, reason).inc()

VOIDS = Counter(
    "shokudo_voids_total",
    "Redemptions voided by their restaurant",
    ["region_id"],
)
VOIDED_YEN = Counter(
    "shokudo_voided_yen_total",
    "Yen given back to tickets by voids",
    ["region_id"],
)
VOIDS_REFUSED = Counter(
    "shokudo_voids_refused_total",
    "Voids refused, by reason (already_voided, statement_closed, void_window_closed)",
    ["reason"],
)
STATEMENTS_CLOSED = Counter(
    "shokudo_statements_closed_total",
    "Restaurant statements closed by the operator (a repeated close is not counted)",
)
TICKETS_EXPIRED = Counter(
    "shokudo_tickets_expired_total",
    "Tickets whose window closed and whose balance was recorded as expired",
    ["region_id"],
)
EXPIRED_YEN = Counter(
    "shokudo_expired_yen_total",
    "Yen left on tickets when their window closed",
    ["region_id"],
)


def count_void(voided):
    VOIDS.labels(voided.region_id).inc()
    VOIDED_YEN.labels(voided.region_id).inc(voided.voided_yen)


def count_expired(ticket):
    TICKETS_EXPIRED.labels(ticket.region_id).inc()
    EXPIRED_YEN.labels(ticket.region_id).inc(ticket.expired_yen)
