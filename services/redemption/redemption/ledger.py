"""The ledger and its neighbours in the database: what the counter reads, locks and writes.

The balance of a ticket changes only while its row is locked (``SELECT … FOR UPDATE``), so
two bills presented at once on one ticket are settled one after the other, the second seeing
what the first left. The table's CHECK constraint stands behind that as a last guard.
"""

import uuid

from sqlalchemy import select

from redemption import domain
from redemption.models import Card, Decline, RegionZone, Redemption, Ticket
from redemption.projections import CARD_ACTIVE

DEFAULT_ZONE = "Asia/Tokyo"


def card_holder(session, card_number):
    """The household an active card draws on, or None for an unknown or blocked card."""
    card = session.get(Card, card_number)
    if card is None or card.status != CARD_ACTIVE:
        return None
    return card.household_id


def lock_usable_ticket(session, household_id, now):
    """The household's ticket whose window holds ``now``, locked until commit, or None."""
    query = (
        select(Ticket)
        .where(Ticket.household_id == household_id,
               Ticket.valid_from <= now, Ticket.valid_until > now)
        .order_by(Ticket.valid_from)
        .limit(1)
        .with_for_update()
        # A row read earlier in this session must show the balance as it is once locked.
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def redemption_by_key(session, restaurant_id, idempotency_key):
    """The redemption an earlier request with this key made, if any."""
    if not idempotency_key:
        return None
    query = select(Redemption).where(Redemption.restaurant_id == restaurant_id,
                                     Redemption.idempotency_key == idempotency_key)
    return session.scalars(query).first()


def add_redemption(session, ticket, restaurant, bill_yen, split, now, idempotency_key=None):
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
    )
    session.add(redemption)
    session.flush()
    return redemption


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


def region_zone(session, region_id):
    """The region's time zone as issuance last announced it; Tokyo until then."""
    if region_id is None:
        return DEFAULT_ZONE
    known = session.get(RegionZone, region_id)
    return known.time_zone if known else DEFAULT_ZONE
