"""Business metrics of the counter, for Prometheus. Labels carry regions and reasons only."""

from prometheus_client import Counter

REDEEMED_YEN = Counter(
    "shokudo_redeemed_yen_total",
    "Yen paid by meal tickets at partner restaurants",
    ["region_id"],
)
REDEMPTIONS = Counter(
    "shokudo_redemptions_total",
    "Redemption attempts at the counter, by outcome (applied or declined)",
    ["outcome"],
)
DECLINES = Counter(
    "shokudo_redemptions_declined_total",
    "Redemption attempts declined, by reason",
    ["reason"],
)
COUNTER_PAID_YEN = Counter(
    "shokudo_counter_paid_yen_total",
    "Yen families paid at the counter because the bill was larger than the balance",
    ["region_id"],
)

STALE_FACTS = Counter(
    "shokudo_projection_stale_facts_ignored_total",
    "Facts about a restaurant or household that were older than (or as old as) the one kept,"
    " and so changed nothing",
    ["event_type"],
)


def count_applied(region_id, split):
    REDEMPTIONS.labels("applied").inc()
    REDEEMED_YEN.labels(region_id).inc(split.applied_yen)
    COUNTER_PAID_YEN.labels(region_id).inc(split.pay_at_counter_yen)


def count_declined(reason):
    REDEMPTIONS.labels("declined").inc()
    DECLINES.labels(reason).inc()
