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


CARDS_BLOCKED = Counter(
    "shokudo_cards_blocked_total",
    "Cards blocked on their own, with no new card yet (a lost card to be found or replaced)",
    ["region_id", "reason"],
)
DOCUMENTS_PRINTED = Counter(
    "shokudo_enrollment_documents_total",
    "Documents made for organisations: card sheets, app letters, household exports",
    ["document"],
)


def count_card_blocked(region_id, reason):
    CARDS_BLOCKED.labels(region_id, reason).inc()


def count_document(document):
    DOCUMENTS_PRINTED.labels(document).inc()
