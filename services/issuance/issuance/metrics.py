"""Business metrics of issuance, labelled by region only (never by household)."""

from prometheus_client import Counter

GRANTS_ISSUED = Counter(
    "shokudo_grants_issued_total",
    "Grants (one meal ticket for one household and period) committed by issuance runs",
    ["region_id"],
)
GRANTED_YEN = Counter(
    "shokudo_granted_yen_total",
    "Yen granted to households by issuance runs",
    ["region_id"],
)
RUNS_COMPLETED = Counter(
    "shokudo_issuance_runs_completed_total",
    "Issuance runs that granted their last household and were marked completed",
    ["region_id"],
)
STALE_FACTS = Counter(
    "shokudo_roster_stale_facts_ignored_total",
    "Facts about a household that were older than (or as old as) the one the roster keeps,"
    " and so changed nothing",
    ["event_type"],
)
