"""What the ledger tells people: a household's balance and history, a restaurant's monthly
statement, a region's month at a glance, and the settlement with every restaurant.

Months are local months: a redemption belongs to the month of its local date in the ticket's
time zone, so a meal at 00:30 on 1 April in Tokyo is April's even though it is still March in
UTC. A voided redemption is owed nothing: statements, summaries and the settlement leave it
out (and count it as a void), the household's history shows it as voided. Restaurant-side
reports carry amounts and times only, never a household.
"""

import csv
import io

from sqlalchemy import func, select

from redemption import domain, ledger
from redemption.models import ClosedStatement, Decline, Redemption, Restaurant, Ticket, Void
from redemption.schemas import TicketOut, local_instant

# Excel reads a CSV file as UTF-8 only when it starts with the byte order mark.
BYTE_ORDER_MARK = "\ufeff"
SETTLEMENT_COLUMNS = ("restaurant_id", "restaurant_name", "month", "redemptions", "voids",
                      "yen_owed", "statement_closed_at")

# A redemption that no void undoes (used with an outer join on Void).
NOT_VOIDED = Void.id.is_(None)

HISTORY_LIMIT = 500
BUSIEST_COUNT = 5


def balance(session, household_id, now):
    """The ticket usable now, or none, and the next one already granted, if any."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.household_id == household_id).order_by(Ticket.valid_from)
    ).all()
    usable = domain.usable_at(tickets, now)
    upcoming = domain.next_upcoming(tickets, now)

    ticket = TicketOut().dump(usable) if usable else None
    return {
        "household_id": household_id,
        "has_usable_ticket": usable is not None,
        # What the app shows first: yen left now and the last local day they can be used.
        "balance_yen": ticket["balance_yen"] if ticket else 0,
        "last_day": ticket["last_day"] if ticket else None,
        "ticket": ticket,
        "next_ticket": TicketOut().dump(upcoming) if upcoming else None,
    }


def history(session, household_id):
    """The household's redemptions, newest first (at most HISTORY_LIMIT of them)."""
    rows = session.execute(
        select(Redemption, Restaurant.name, Ticket.time_zone, Void.at)
        .join(Ticket, Ticket.id == Redemption.ticket_id)
        .outerjoin(Restaurant, Restaurant.id == Redemption.restaurant_id)
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(Redemption.household_id == household_id)
        .order_by(Redemption.at.desc())
        .limit(HISTORY_LIMIT)
    ).all()

    return {
        "household_id": household_id,
        "redemptions": [{
            "redemption_id": redemption.id,
            "at": local_instant(redemption.at, zone),
            "local_date": redemption.local_date.isoformat(),
            "restaurant_id": redemption.restaurant_id,
            "restaurant_name": name,
            "bill_yen": redemption.bill_yen,
            "applied_yen": redemption.applied_yen,
            "pay_at_counter_yen": redemption.pay_at_counter_yen,
            "balance_yen": redemption.balance_after_yen,
            "voided": voided_at is not None,
            "voided_at": local_instant(voided_at, zone) if voided_at else None,
        } for redemption, name, zone, voided_at in rows],
    }


def restaurant_statement(session, restaurant, period):
    """Every redemption at ``restaurant`` whose local date falls in ``period`` and that no void
    undid, with totals, the number voided and whether the month is closed."""
    in_month = (Redemption.restaurant_id == restaurant.id,
                Redemption.local_date.between(period.first_day(), period.last_day()))
    rows = session.execute(
        select(Redemption, Ticket.time_zone)
        .join(Ticket, Ticket.id == Redemption.ticket_id)
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(*in_month, NOT_VOIDED)
        .order_by(Redemption.at)
    ).all()
    voids = session.scalar(
        select(func.count(Void.id)).join(Redemption, Redemption.id == Void.redemption_id)
        .where(*in_month)
    )
    closed = session.get(ClosedStatement, (restaurant.id, str(period)))
    zone = ledger.region_zone(session, restaurant.region_id)
    lines = [{
        "redemption_id": redemption.id,
        "at": local_instant(redemption.at, zone),
        "local_date": redemption.local_date.isoformat(),
        "bill_yen": redemption.bill_yen,
        "applied_yen": redemption.applied_yen,
        "pay_at_counter_yen": redemption.pay_at_counter_yen,
    } for redemption, zone in rows]

    return {
        "restaurant_id": restaurant.id,
        "restaurant_name": restaurant.name,
        "month": str(period),
        "redemptions": len(lines),
        "voids": voids,
        "total_yen": sum(line["applied_yen"] for line in lines),
        "pay_at_counter_yen": sum(line["pay_at_counter_yen"] for line in lines),
        "closed": closed is not None,
        "closed_at": local_instant(closed.closed_at, zone) if closed else None,
        "lines": lines,
    }


def region_summary(session, region_id, period):
    """A region's month: yen granted and redeemed, paid at the counter, busiest places, declines."""
    month = domain.Month(period, ledger.region_zone(session, region_id))
    in_month = (Redemption.region_id == region_id,
                Redemption.local_date.between(month.first_day, month.last_day), NOT_VOIDED)

    redeemed_yen, counter_yen, count = session.execute(
        select(func.coalesce(func.sum(Redemption.applied_yen), 0),
               func.coalesce(func.sum(Redemption.pay_at_counter_yen), 0),
               func.count(Redemption.id))
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(*in_month)
    ).one()

    return {
        "region_id": region_id,
        "month": str(period),
        "time_zone": month.zone,
        "yen_granted": _yen_granted(session, region_id, month),
        "yen_redeemed": redeemed_yen,
        "yen_paid_at_counter": counter_yen,
        "redemptions": count,
        "busiest_restaurants": _busiest(session, in_month),
        "declines": _declines(session, region_id, month),
    }


def _yen_granted(session, region_id, month):
    """Sum of the tickets whose window overlaps the month: what could be spent in it."""
    return session.scalar(
        select(func.coalesce(func.sum(Ticket.amount_yen), 0))
        .where(Ticket.region_id == region_id,
               Ticket.valid_from < month.ends_at, Ticket.valid_until > month.starts_at)
    )


def _busiest(session, in_month):
    applied = func.sum(Redemption.applied_yen)
    count = func.count(Redemption.id)
    rows = session.execute(
        select(Redemption.restaurant_id, Restaurant.name, applied, count)
        .outerjoin(Restaurant, Restaurant.id == Redemption.restaurant_id)
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(*in_month)
        .group_by(Redemption.restaurant_id, Restaurant.name)
        .order_by(applied.desc(), count.desc(), Redemption.restaurant_id)
        .limit(BUSIEST_COUNT)
    ).all()
    return [{"restaurant_id": restaurant_id, "name": name, "applied_yen": yen,
             "redemptions": n} for restaurant_id, name, yen, n in rows]


def _declines(session, region_id, month):
    rows = session.execute(
        select(Decline.reason, func.count(Decline.id))
        .where(Decline.region_id == region_id,
               Decline.local_date.between(month.first_day, month.last_day))
        .group_by(Decline.reason)
    ).all()
    by_reason = dict.fromkeys(domain.DECLINE_REASONS, 0)
    by_reason.update(dict(rows))
    return by_reason


def settlement(session, region_id, period):
    """What the operator owes each restaurant of the region for ``period``: one line per
    restaurant with a redemption in the month, its figures those of its statement."""
    kept = NOT_VOIDED
    rows = session.execute(
        select(Redemption.restaurant_id, Restaurant.name,
               func.count(Redemption.id).filter(kept),
               func.count(Void.id),
               func.coalesce(func.sum(Redemption.applied_yen).filter(kept), 0))
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .outerjoin(Restaurant, Restaurant.id == Redemption.restaurant_id)
        .where(Redemption.region_id == region_id,
               Redemption.local_date.between(period.first_day(), period.last_day()))
        .group_by(Redemption.restaurant_id, Restaurant.name)
        .order_by(Restaurant.name, Redemption.restaurant_id)
    ).all()
    zone = ledger.region_zone(session, region_id)
    closed = _closed_at(session, [row[0] for row in rows], period)

    return [{
        "restaurant_id": restaurant_id,
        "restaurant_name": name or "",
        "month": str(period),
        "redemptions": redemptions,
        "voids": voids,
        "yen_owed": yen_owed,
        "statement_closed_at": local_instant(closed[restaurant_id], zone)
        if restaurant_id in closed else "",
    } for restaurant_id, name, redemptions, voids, yen_owed in rows]


def settlement_csv(session, region_id, period):
    """The settlement as CSV text for Excel: UTF-8 with its byte order mark, CRLF lines."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SETTLEMENT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(settlement(session, region_id, period))
    return BYTE_ORDER_MARK + out.getvalue()


def _closed_at(session, restaurant_ids, period):
    if not restaurant_ids:
        return {}
    rows = session.execute(
        select(ClosedStatement.restaurant_id, ClosedStatement.closed_at)
        .where(ClosedStatement.restaurant_id.in_(restaurant_ids),
               ClosedStatement.month == str(period))
    ).all()
    return dict(rows)
