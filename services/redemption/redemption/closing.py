"""Closing a restaurant's monthly statement, after which none of its redemptions can be voided.

The operator closes a month once it is over in the region's local time (no redemption can
join it any more) to settle with the restaurant. Closing twice is closing once: the first
close's time and author stay.

A void and the close of its month take turns on a transaction-scoped advisory lock named after
the restaurant and the month: voids share it (they do not wait for each other), the close
takes it alone. A void that began before the close is in the statement the close freezes (left
out as voided); a void that comes after sees the month closed.
"""

import logging

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.errors import Conflict

from redemption import domain, ledger, metrics, reports
from redemption.models import ClosedStatement
from redemption.schemas import local_instant

log = logging.getLogger(__name__)

# Who closes: only the operator for now; staff accounts will name a person.
OPERATOR = "operator"

SHARE = text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:name, 0))")
TAKE = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def _lock_name(restaurant_id, period):
    return f"redemption.statement:{restaurant_id}:{period}"


def share_month(session, restaurant_id, period):
    """Keep the month from being closed until this transaction ends (a void)."""
    session.execute(SHARE, {"name": _lock_name(restaurant_id, period)})


def take_month(session, restaurant_id, period):
    """Wait for the month's voids under way, and keep new ones out until commit (a close)."""
    session.execute(TAKE, {"name": _lock_name(restaurant_id, period)})


def is_closed(session, restaurant_id, period):
    return _closed(session, restaurant_id, period) is not None


def _closed(session, restaurant_id, period):
    query = select(ClosedStatement).where(ClosedStatement.restaurant_id == restaurant_id,
                                          ClosedStatement.month == str(period))
    return session.scalars(query.execution_options(populate_existing=True)).first()


def close_statement(session, restaurant, period, now):
    """Close ``restaurant``'s statement of ``period`` (once); returns the closed statement."""
    zone = ledger.region_zone(session, restaurant.region_id)
    if not domain.month_is_over(period, zone, now):
        raise Conflict("month_not_over",
                       f"{period} is not over yet in {zone}: a statement closes once its month"
                       " has ended", {"month": str(period), "time_zone": zone})

    take_month(session, restaurant.id, period)
    inserted = session.execute(
        insert(ClosedStatement)
        .values(restaurant_id=restaurant.id, month=str(period), closed_at=now,
                closed_by=OPERATOR)
        .on_conflict_do_nothing()
        .returning(ClosedStatement.restaurant_id)
    ).first()
    closed = _closed(session, restaurant.id, period)
    statement = reports.restaurant_statement(session, restaurant, period)
    session.commit()

    if inserted:
        metrics.STATEMENTS_CLOSED.inc()
        log.info("statement closed", extra={
            "restaurant_id": restaurant.id, "month": str(period),
            "redemptions": statement["redemptions"], "total_yen": statement["total_yen"],
        })
    return closed_answer(closed, statement, zone)


def closed_answer(closed, statement, zone):
    return {
        "restaurant_id": closed.restaurant_id,
        "month": closed.month,
        "closed_at": local_instant(closed.closed_at, zone),
        "closed_by": closed.closed_by,
        "redemptions": statement["redemptions"],
        "voids": statement["voids"],
        "total_yen": statement["total_yen"],
    }

