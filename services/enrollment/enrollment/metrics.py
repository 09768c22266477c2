"""Business metrics of enrollment. Labels hold regions, channels and outcomes, never people."""

from prometheus_client import Counter

HOUSEHOLDS_ENROLLED = Counter(
    "shokudo_households_enrolled_total",
    "Households enrolled, one by one or from a spreadsheet",
    ["region_id", "channel"],
)
IMPORT_ROWS = Counter(
    "shokudo_household_imports_rows_total",
    "Lines of committed spreadsheet imports by outcome (dry runs are not counted)",
    ["outcome"],
)
CARDS_REPLACED = Counter(
    "shokudo_cards_replaced_total",
    "Cards blocked and replaced by a new number in one audited step",
    ["region_id", "reason"],
)


def count_enrolled(region_id, channel):
    HOUSEHOLDS_ENROLLED.labels(region_id, channel).inc()


def count_import(summary):
    for outcome, lines in summary.items():
        if lines:
            IMPORT_ROWS.labels(outcome).inc(lines)


def count_card_replaced(region_id, reason):
    CARDS_REPLACED.labels(region_id, reason).inc()
