"""A region's accounts for one period, set side by side from two services' own ledgers.

Issuance says what it granted; redemption says where the yen of its tickets are. They agree
when every grant became a ticket of the same amount and::

    yen granted = redeemed − voided + expired + still open

Each check that fails is reported with both figures and the difference; nothing is netted
against anything else, so two errors never hide each other.
"""


def compare(grants, tickets):
    """The comparison as the operator reads it: balanced, every figure, every difference."""
    checks = [
        ("tickets_match_grants", "grants", grants["grants"], "tickets", tickets["tickets"]),
        ("yen_on_tickets_match_yen_granted", "yen_granted", grants["yen_granted"],
         "yen_on_tickets", tickets["yen_on_tickets"]),
        ("yen_granted_accounted_for", "yen_granted", grants["yen_granted"],
         "redeemed_yen - voided_yen + expired_yen + open_yen", _accounted(tickets)),
    ]
    run = grants.get("run")
    if run is not None:
        checks.append(("run_totals_match_grants", "run.yen_granted", run["yen_granted"],
                       "yen_granted", grants["yen_granted"]))

    differences = [_difference(*check) for check in checks if check[2] != check[4]]
    if tickets.get("tickets_out_of_balance"):
        differences.append({
            "check": "each_ticket_accounted_for",
            "tickets": tickets["tickets_out_of_balance"],
            "ticket_ids": tickets.get("tickets_out_of_balance_ids", []),
        })

    return {
        "region_id": grants["region_id"],
        "period": grants["period"],
        "balanced": not differences,
        "issuance": grants,
        "redemption": tickets,
        "differences": differences,
    }


def _accounted(tickets):
    return (tickets["redeemed_yen"] - tickets["voided_yen"] + tickets["expired_yen"]
            + tickets["open_yen"])


def _difference(check, expected_name, expected, actual_name, actual):
    return {"check": check, "expected": {expected_name: expected},
            "actual": {actual_name: actual}, "difference": actual - expected}
