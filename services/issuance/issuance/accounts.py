"""Issuance's side of a region's accounts for one period: the grants it made.

The gateway sets these figures against redemption's tickets (see redemption's accounts): every
grant should be a ticket of the same amount, and every yen granted be redeemed, expired or
still open. The run's own totals are given too, as a check on the grants themselves.
"""

from sqlalchemy import func, select

from issuance import runs
from issuance.models import Grant


def grant_accounts(session, region_id, period):
    grants, yen_granted = session.execute(
        select(func.count(Grant.id), func.coalesce(func.sum(Grant.amount_yen), 0))
        .where(Grant.region_id == region_id, Grant.period == str(period))
    ).one()
    run = runs.find(session, region_id, period)

    return {
        "region_id": region_id,
        "period": str(period),
        "grants": grants,
        "yen_granted": int(yen_granted),
        "run": None if run is None else {
            "run_id": run.id, "status": run.status, "households": run.households,
            "yen_granted": run.yen_granted,
        },
    }
