"""What the ledger tells people: a household's balance and history, a restaurant's monthly
statement, a region's month at a glance.

Months are local months: a redemption belongs to the month of its local date in the ticket's
time zone, so a meal at 00:30 on 1 April in Tokyo is April's even though it is still March in
UTC. Restaurant-side reports carry amounts and times only, never a household.
"""

from sqlalchemy import func, select

from redemption import domain, ledger
from redemption.models import Decline, Redemption, Restaurant, Ticket
from redemption.schemas import TicketOut, local_instant

HISTORY_LIMIT = 500
BUSIEST_COUNT = 5


def balance(session, household_id, now):
    """The ticket usable now, or none, and the next one already granted, if any."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.household_id == household_id).order_by(Ticket.valid_from)
    ).all()
    usable = domain.usable_at(tickets, now)
    upcoming = domain.next_upcoming(tickets, now)

    return {
        "household_id": household_id,
        "has_usable_ticket": usable is not None,
        "ticket": TicketOut().dump(usable) if usable else None,
        "next_ticket": TicketOut().dump(upcoming) if upcoming else None,
    }


def history(session, household_id):
    """The household's redemptions, newest first (at most HISTORY_LIMIT of them)."""
    rows = session.execute(
        select(Redemption, Restaurant.name, Ticket.time_zone)
        .join(Ticket, Ticket.id == Redemption.ticket_id)
        .outerjoin(Restaurant, Restaurant.id == Redemption.restaurant_id)
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
        } for redemption, name, zone in rows],
    }


def restaurant_statement(session, restaurant, period):
    """Every redemption at ``restaurant`` whose local date falls in ``period``, with totals."""
    rows = session.execute(
        select(Redemption, Ticket.time_zone)
        .join(Ticket, Ticket.id == Redemption.ticket_id)
        .where(Redemption.restaurant_id == restaurant.id,
               Redemption.local_date.between(period.first_day(), period.last_day()))
        .order_by(Redemption.at)
    ).all()
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
        "total_yen": sum(line["applied_yen"] for line in lines),
        "pay_at_counter_yen": sum(line["pay_at_counter_yen"] for line in lines),
        "lines": lines,
    }


def region_summary(session, region_id, period):
    """A region's month: yen granted and redeemed, paid at the counter, busiest places, declines."""
    month = domain.Month(period, ledger.region_zone(session, region_id))
    in_month = (Redemption.region_id == region_id,
                Redemption.local_date.between(month.first_day, month.last_day))

    redeemed_yen, counter_yen, count = session.execute(
        select(func.coalesce(func.sum(Redemption.applied_yen), 0),
               func.coalesce(func.sum(Redemption.pay_at_counter_yen), 0),
               func.count(Redemption.id))
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
