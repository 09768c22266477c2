"""Redemption's side of a region's accounts for one period of tickets.

Every yen put on a ticket is, at any moment, in exactly one place::

    yen on tickets = redeemed − voided + expired + still open

computed here from the ledger itself (redemptions and voids), the expired yen and the
balances, each summed on its own. The gateway sets these figures against issuance's grants;
any difference, here or there, is reported, never smoothed over. The same sum is made ticket
by ticket, so that a difference can be traced to the tickets it comes from.
"""

from sqlalchemy import case, func, select

from redemption.models import Redemption, Ticket, Void

# Enough ticket ids to start looking; the count says how many there are in all.
TICKETS_NAMED = 20


def ticket_accounts(session, region_id, period):
    """The figures of the region's tickets of ``period``, and whether they add up."""
    per_ticket = _per_ticket(region_id, period)
    totals = session.execute(select(
        func.count(),
        func.coalesce(func.sum(per_ticket.c.amount_yen), 0),
        func.coalesce(func.sum(per_ticket.c.redeemed_yen), 0),
        func.coalesce(func.sum(per_ticket.c.voided_yen), 0),
        func.coalesce(func.sum(per_ticket.c.expired_yen), 0),
        func.coalesce(func.sum(per_ticket.c.open_yen), 0),
    )).one()
    tickets, on_tickets, redeemed, voided, expired, still_open = (int(v) for v in totals)

    out_of_balance = per_ticket.c.amount_yen != _accounted(per_ticket.c)
    uneven = session.execute(
        select(per_ticket.c.ticket_id).where(out_of_balance).order_by(per_ticket.c.ticket_id)
    ).scalars().all()

    accounted = redeemed - voided + expired + still_open
    return {
        "region_id": region_id,
        "period": str(period),
        "tickets": tickets,
        "yen_on_tickets": on_tickets,
        "redeemed_yen": redeemed,
        "voided_yen": voided,
        "expired_yen": expired,
        "open_yen": still_open,
        "accounted_yen": accounted,
        "balanced": on_tickets == accounted and not uneven,
        "tickets_out_of_balance": len(uneven),
        "tickets_out_of_balance_ids": uneven[:TICKETS_NAMED],
    }


def _accounted(figures):
    return figures.redeemed_yen - figures.voided_yen + figures.expired_yen + figures.open_yen


def _per_ticket(region_id, period):
    """One row per ticket: its amount and where its yen are, each from its own table."""
    # Ledger rows carry their ticket's region: only the region's are summed.
    redeemed = (select(Redemption.ticket_id, func.sum(Redemption.applied_yen).label("yen"))
                .where(Redemption.region_id == region_id)
                .group_by(Redemption.ticket_id).subquery())
    voided = (select(Void.ticket_id, func.sum(Void.voided_yen).label("yen"))
              .where(Void.region_id == region_id)
              .group_by(Void.ticket_id).subquery())
    return (
        select(
            Ticket.id.label("ticket_id"),
            Ticket.amount_yen.label("amount_yen"),
            func.coalesce(redeemed.c.yen, 0).label("redeemed_yen"),
            func.coalesce(voided.c.yen, 0).label("voided_yen"),
            func.coalesce(Ticket.expired_yen, 0).label("expired_yen"),
            # A balance is open yen only while its ticket has not expired.
            case((Ticket.expired_at.is_(None), Ticket.balance_yen), else_=0).label("open_yen"),
        )
        .outerjoin(redeemed, redeemed.c.ticket_id == Ticket.id)
        .outerjoin(voided, voided.c.ticket_id == Ticket.id)
        .where(Ticket.region_id == region_id, Ticket.period == str(period))
        .subquery()
    )
