"""Looking after people: an organisation's households' use of their tickets, a restaurant's
day at the counter, concerns a restaurant raises, and households that move.

Usage is read from the ledger per household of the organisation *as the household projection
holds it now*. Granted, used, left and last use are the period's shown (by default the one in
use); the dormant flag looks at the two latest periods whose windows have ended, as a ticket
of the period in use not used yet may still be used. A household that moved is its new
organisation's, with its ticket, balance and history, and its old organisation no longer
sees it. A period here is the issuance period
(``2026-02`` for tickets used in March), as in the tickets themselves.

A concern is a fact, not a row of ours: redemption only checks that the redemption is the
restaurant's own and announces ``concern_raised`` with the household and its organisation, for
enrollment, which keeps the organisation's view. Nothing about the household goes back to the
restaurant.
"""

import logging
import uuid

from sqlalchemy import func, select, update

from shokudo_common import idempotency
from shokudo_common.errors import NotFound

from redemption import domain, ledger, projections
from redemption.models import Household, Redemption, Restaurant, Ticket, Void
from redemption.reports import NOT_VOIDED
from redemption.schemas import local_instant

log = logging.getLogger(__name__)


# -- an organisation's households ----------------------------------------------------------

def organisation_usage(session, request, now):
    """Each household of the organisation: granted, used and left this period, last use, and
    whether to reach out."""
    zone = ledger.region_zone(session, request["region_id"])
    in_use = domain.period_in_use(now, zone)
    period = request.get("period") or in_use
    looked_at = domain.reach_out_periods(period, in_use)

    households = session.scalars(
        select(Household).where(Household.organisation_id == request["organisation_id"])
        .order_by(Household.id)
    ).all()
    ids = [household.id for household in households]
    tickets_now = _tickets(session, ids, period)
    ended = [_tickets(session, ids, each) for each in looked_at]
    used = _used_tickets(session, [*tickets_now.values(),
                                   *(ticket for tickets in ended for ticket in tickets.values())])
    last_uses = _last_uses(session, ids)

    lines = []
    for household in households:
        ticket = tickets_now.get(household.id)
        if ticket is None and household.status == "withdrawn":
            continue  # gone before this period: nothing to follow up
        reason = _reach_out(*(tickets.get(household.id) for tickets in ended), used)
        line = _usage_line(household, ticket, reason, used, last_uses.get(household.id), zone)
        if line["reach_out"] or not request.get("reach_out_only"):
            lines.append(line)

    return {
        "organisation_id": request["organisation_id"],
        "period": str(period),
        "time_zone": zone,
        "reach_out_periods": [str(each) for each in looked_at],
        "households": lines,
    }


def _tickets(session, household_ids, period):
    if not household_ids:
        return {}
    rows = session.scalars(select(Ticket).where(Ticket.household_id.in_(household_ids),
                                                Ticket.period == str(period))).all()
    return {ticket.household_id: ticket for ticket in rows}


def _used_tickets(session, tickets):
    """The ids of the tickets with at least one redemption that no void undid."""
    if not tickets:
        return set()
    return set(session.scalars(
        select(Redemption.ticket_id).distinct()
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(Redemption.ticket_id.in_([ticket.id for ticket in tickets]), NOT_VOIDED)
    ))


def _last_uses(session, household_ids):
    if not household_ids:
        return {}
    rows = session.execute(
        select(Redemption.household_id, func.max(Redemption.at))
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(Redemption.household_id.in_(household_ids), NOT_VOIDED)
        .group_by(Redemption.household_id)
    ).all()
    return dict(rows)


def _reach_out(before, last, used):
    """The dormant flag from the household's tickets of the two ended periods (or None)."""
    return domain.reach_out_reason(
        granted_last=last is not None, used_last=last is not None and last.id in used,
        granted_before=before is not None,
        used_before=before is not None and before.id in used,
    )


def _usage_line(household, ticket, reason, used, last_use, zone):
    message_ja, message_en = domain.REACH_OUT_MESSAGES.get(reason, (None, None))
    return {
        "household_id": household.id,
        "status": household.status,
        "granted_yen": ticket.amount_yen if ticket else 0,
        "used_yen": _used_yen(ticket) if ticket else 0,
        "left_yen": ticket.balance_yen if ticket else 0,
        "expired_yen": (ticket.expired_yen or 0) if ticket else 0,
        "last_day": _last_day(ticket),
        "last_used_at": local_instant(last_use, zone) if last_use else None,
        "reach_out": reason is not None,
        "reach_out_reason": reason,
        "reach_out_message_ja": message_ja,
        "reach_out_message_en": message_en,
    }


def _used_yen(ticket):
    # What left the ticket for meals: voids gave theirs back, expiry took the rest.
    return ticket.amount_yen - ticket.balance_yen - (ticket.expired_yen or 0)


def _last_day(ticket):
    if ticket is None:
        return None
    days = domain.window_days(ticket.valid_from, ticket.valid_until, ticket.time_zone)
    return days[1].isoformat()


# -- a restaurant's day --------------------------------------------------------------------

def restaurant_day(session, restaurant, on_date, now):
    """Every redemption at the restaurant on one local day (today by default), voided or not:
    times and money only."""
    zone = ledger.region_zone(session, restaurant.region_id)
    day = on_date or domain.local_date(now, zone)
    rows = session.execute(
        select(Redemption, Void.at)
        .outerjoin(Void, Void.redemption_id == Redemption.id)
        .where(Redemption.restaurant_id == restaurant.id, Redemption.local_date == day)
        .order_by(Redemption.at)
    ).all()

    lines = [{
        "redemption_id": redemption.id,
        "at": local_instant(redemption.at, zone),
        "bill_yen": redemption.bill_yen,
        "applied_yen": redemption.applied_yen,
        "pay_at_counter_yen": redemption.pay_at_counter_yen,
        "voided": voided_at is not None,
        "voided_at": local_instant(voided_at, zone) if voided_at else None,
    } for redemption, voided_at in rows]
    kept = [line for line in lines if not line["voided"]]
    return {
        "restaurant_id": restaurant.id,
        "restaurant_name": restaurant.name,
        "date": day.isoformat(),
        "redemptions": len(kept),
        "voids": len(lines) - len(kept),
        "applied_yen": sum(line["applied_yen"] for line in kept),
        "pay_at_counter_yen": sum(line["pay_at_counter_yen"] for line in kept),
        "lines": lines,
    }


# -- concerns ------------------------------------------------------------------------------

def raise_concern(session, outbox, request, now):
    """Announce a concern about the child of one of the restaurant's own redemptions.

    Another restaurant's redemption is not found, exactly as an unknown one. Returns what the
    restaurant may know: the concern's id, its category and when; never the household.
    """
    keyed = idempotency.claim(session, "redemption.raise_concern",
                              request.get("idempotency_key"),
                              {name: value for name, value in request.items()
                               if name != "idempotency_key"})
    if keyed.answered:
        return keyed.answer

    redemption = session.get(Redemption, request["redemption_id"])
    if redemption is None or redemption.restaurant_id != request["restaurant_id"]:
        session.rollback()
        raise NotFound("redemption_not_found", f"no redemption {request['redemption_id']}"
                       " at this restaurant")

    zone = ledger.region_zone(session, redemption.region_id)
    concern_id = str(uuid.uuid4())
    outbox.add(session, "concern_raised", _concern_fact(session, concern_id, redemption,
                                                        request, local_instant(now, zone)))
    answer = keyed.remember(session, {
        "concern_id": concern_id, "redemption_id": redemption.id,
        "category": request["category"], "raised_at": local_instant(now, zone),
        "status": "open",
    })
    session.commit()

    log.info("concern raised", extra={
        "concern_id": concern_id, "restaurant_id": redemption.restaurant_id,
        "category": request["category"],
    })
    return answer


def _concern_fact(session, concern_id, redemption, request, raised_at):
    # The household's organisation now: a family that moved is followed by its new one.
    household = session.get(Household, redemption.household_id)
    # The restaurant's name is no one's personal data: the organisation reads where it was.
    restaurant = session.get(Restaurant, redemption.restaurant_id)
    return {
        "concern_id": concern_id,
        "household_id": redemption.household_id,
        "organisation_id": household.organisation_id if household
        else redemption.organisation_id,
        "region_id": redemption.region_id,
        "restaurant_id": redemption.restaurant_id,
        "restaurant_name": restaurant.name if restaurant else None,
        "redemption_id": redemption.id,
        "category": request["category"],
        "note": request["note"],
        "raised_at": raised_at,
    }


# -- households that move ------------------------------------------------------------------

def record_household_moved(session, fact):
    """A household now of another organisation: its projection and its tickets still open
    follow it, so later receipts, expiries and concerns name the new organisation. False
    when the fact is not newer than what is kept."""
    if not projections.record_household(session, None, fact):
        return False
    session.execute(
        update(Ticket)
        .where(Ticket.household_id == fact["household_id"], Ticket.expired_at.is_(None))
        .values(organisation_id=fact["organisation_id"])
    )
    return True
