"""The ledger and its neighbours in the database: what the counter reads, locks and writes.

The balance of a ticket changes only while its row is locked (``SELECT … FOR UPDATE``), so
two bills presented at once on one ticket, a bill and a void, or a bill and the ticket's
expiry are settled one after the other, the second seeing what the first left. The table's
CHECK constraints stand behind that as a last guard.

The ledger is two tables: redemptions, and voids that each point at the redemption they undo.
Neither row is ever changed or deleted.
"""

import uuid

from sqlalchemy import select

from redemption import domain
from redemption.models import Card, Decline, RegionZone, Redemption, Ticket, Void
from redemption.projections import CARD_ACTIVE

DEFAULT_ZONE = "Asia/Tokyo"


def card_holder(session, card_number):
    """The household an active card draws on, or None for an unknown or blocked card.

    The card is read under a shared lock held until commit: a block applied meanwhile waits
    for this bill, and every bill after the block sees it (the organisation is told "blocked"
    only once no bill can still pay with the card).
    """
    card = session.get(Card, card_number, with_for_update={"read": True})
    if card is None or card.status != CARD_ACTIVE:
        return None
    return card.household_id


def lock_open_tickets(session, household_id, since):
    """The household's tickets not expired and whose window was still open at ``since``,
    locked until commit, oldest first (the same order everywhere, so locks never cross).

    Usually this month's and next month's; the caller reads the clock once they are locked
    and picks the one usable then.
    """
    query = (
        select(Ticket)
        .where(Ticket.household_id == household_id, Ticket.expired_at.is_(None),
               Ticket.valid_until > since)
        .order_by(Ticket.valid_from, Ticket.id)
        .with_for_update()
        # A row read earlier in this session must show the balance as it is once locked.
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).all()


def lock_ticket(session, ticket_id):
    """One ticket, locked until commit, as it is once locked."""
    query = (select(Ticket).where(Ticket.id == ticket_id).with_for_update()
             .execution_options(populate_existing=True))
    return session.scalars(query).one()


def redemption_by_key(session, restaurant_id, idempotency_key):
    """The redemption an earlier request with this key made, if any."""
    if not idempotency_key:
        return None
    query = select(Redemption).where(Redemption.restaurant_id == restaurant_id,
                                     Redemption.idempotency_key == idempotency_key)
    return session.scalars(query).first()


def qr_token_used(session, jti):
    """Whether a QR code with this jti has paid a bill already (a void does not free it)."""
    query = select(Redemption.id).where(Redemption.qr_jti == jti)
    return session.scalar(query) is not None


def current_ticket(session, household_id, now):
    """The household's ticket usable at ``now``, or else the next one to open; None if none."""
    query = (select(Ticket)
             .where(Ticket.household_id == household_id, Ticket.expired_at.is_(None),
                    Ticket.valid_until > now)
             .order_by(Ticket.valid_from, Ticket.id))
    tickets = session.scalars(query).all()
    return domain.usable_at(tickets, now) or domain.next_upcoming(tickets, now)


def add_redemption(session, ticket, restaurant, bill_yen, split, now, idempotency_key=None,
                   qr_jti=None):
    """Take ``split.applied_yen`` from the locked ticket and write the ledger line."""
    ticket.balance_yen = split.balance_yen
    redemption = Redemption(
        id=str(uuid.uuid4()),
        ticket_id=ticket.id,
        household_id=ticket.household_id,
        organisation_id=ticket.organisation_id,
        region_id=ticket.region_id,
        restaurant_id=restaurant.id,
        bill_yen=bill_yen,
        applied_yen=split.applied_yen,
        pay_at_counter_yen=split.pay_at_counter_yen,
        balance_after_yen=split.balance_yen,
        at=now,
        local_date=domain.local_date(now, ticket.time_zone),
        idempotency_key=idempotency_key,
        qr_jti=qr_jti,
    )
    session.add(redemption)
    session.flush()
    return redemption


def void_of(session, redemption_id):
    """The void of a redemption, as committed now (read afresh, not from the session)."""
    query = select(Void).where(Void.redemption_id == redemption_id)
    return session.scalars(query.execution_options(populate_existing=True)).first()


def add_void(session, redemption, ticket, now):
    """Give the redemption's yen back to the locked ticket and write the void row.

    A ticket already expired keeps a zero balance: the yen join what it left expired.
    """
    if ticket.expired_at is None:
        ticket.balance_yen += redemption.applied_yen
    else:
        ticket.expired_yen += redemption.applied_yen

    voided = Void(
        id=str(uuid.uuid4()),
        redemption_id=redemption.id,
        ticket_id=ticket.id,
        restaurant_id=redemption.restaurant_id,
        region_id=redemption.region_id,
        voided_yen=redemption.applied_yen,
        balance_after_yen=ticket.balance_yen,
        at=now,
        local_date=domain.local_date(now, ticket.time_zone),
    )
    session.add(voided)
    session.flush()
    return voided


def add_decline(session, restaurant_id, region_id, reason, now):
    """Record a refusal: where, why, when. Nothing that could point to a household."""
    decline = Decline(
        restaurant_id=restaurant_id,
        region_id=region_id,
        reason=reason,
        at=now,
        local_date=domain.local_date(now, region_zone(session, region_id)),
    )
    session.add(decline)
    return decline


def void_window_hours(session, region_id):
    """The region's void window as issuance last announced it; the same local day until then."""
    known = session.get(RegionZone, region_id)
    return known.void_window_hours if known else domain.SAME_LOCAL_DAY


def restaurant_scope(session, region_id):
    """Where the region's households may use tickets, as issuance last announced it; any
    partner restaurant of the region until then."""
    known = session.get(RegionZone, region_id) if region_id else None
    return known.restaurant_scope if known else domain.ANY_RESTAURANT_OF_REGION


def region_zone(session, region_id):
    """The region's time zone as issuance last announced it; Tokyo until then."""
    if region_id is None:
        return DEFAULT_ZONE
    known = session.get(RegionZone, region_id)
    return known.time_zone if known else DEFAULT_ZONE
