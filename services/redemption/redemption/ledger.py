"""The ledger and its neighbours in the database: what the counter reads, locks and writes.

The balance of a ticket changes only while its row is locked (``SELECT … FOR UPDATE``), so
two bills presented at once on one ticket, a bill and a void, or a bill and the ticket's
expiry are settled one after the other, the second seeing what the first left. The table's
CHECK constraints stand behind that as a last guard.

The ledger is two tables: redemptions, and voids that each point at the redemption they undo.
Neither row is ever changed or deleted.

The counter's own path (:func:`at_the_counter`, :func:`lock_open_tickets`, :func:`add_redemption`)
is the busiest of the platform and is written in few statements of SQLAlchemy Core: the card,
its household and the restaurant in one statement, the ticket's debit and its ledger line in
another, with no ORM unit of work in between. The locks are the same as the ORM's were, taken
in the same order.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text

from redemption import domain
from redemption.models import Card, Decline, RegionZone, Redemption, Restaurant, Ticket, Void
from redemption.projections import CARD_ACTIVE

DEFAULT_ZONE = "Asia/Tokyo"


@dataclass(frozen=True)
class Party:
    """A household or a restaurant as the counter checks it: who, where, in what state, whose.

    ``restaurant_scope`` is a restaurant's only: where its region lets households use tickets.
    """

    id: str
    status: str
    region_id: str | None
    organisation_id: str | None = None
    restaurant_scope: str = domain.ANY_RESTAURANT_OF_REGION


# The card and its household under shared locks held until commit (see card_holder), the
# restaurant as it is, with its region's restaurant scope; one row when the card and its
# household are both known here.
PARTIES_OF_CARD = text("""
    SELECT card.status AS card_status, card.household_id,
           household.status AS household_status, household.region_id AS household_region,
           household.organisation_id AS household_organisation,
           restaurant.status AS restaurant_status, restaurant.region_id AS restaurant_region,
           restaurant.organisation_id AS restaurant_organisation,
           zone.restaurant_scope
      FROM cards AS card
      JOIN households AS household ON household.id = card.household_id
      LEFT JOIN restaurants AS restaurant ON restaurant.id = :restaurant_id
      LEFT JOIN region_zones AS zone ON zone.region_id = restaurant.region_id
     WHERE card.card_number = :card_number
       FOR SHARE OF card, household
""")
PARTIES_OF_HOUSEHOLD = text("""
    SELECT household.id AS household_id,
           household.status AS household_status, household.region_id AS household_region,
           household.organisation_id AS household_organisation,
           restaurant.status AS restaurant_status, restaurant.region_id AS restaurant_region,
           restaurant.organisation_id AS restaurant_organisation,
           zone.restaurant_scope
      FROM households AS household
      LEFT JOIN restaurants AS restaurant ON restaurant.id = :restaurant_id
      LEFT JOIN region_zones AS zone ON zone.region_id = restaurant.region_id
     WHERE household.id = :household_id
       FOR SHARE OF household
""")


def at_the_counter(session, restaurant_id, card_number=None, household_id=None):
    """(household id, household, restaurant) for a bill paid with ``card_number`` or by
    ``household_id`` (a QR code's): the household id is None for an unknown or blocked card,
    the household and the restaurant (:class:`Party`) None when this service does not know
    them. The household is read under a shared lock held until commit: a suspension waits for
    the bills in progress, so once it is applied no bill can pay for the household."""
    if card_number is not None:
        row = session.execute(PARTIES_OF_CARD, {"card_number": card_number,
                                                "restaurant_id": restaurant_id}).first()
        if row is None:
            return _parties_one_by_one(session, restaurant_id, card_number)
        if row.card_status != CARD_ACTIVE:
            return None, None, _restaurant(row, restaurant_id)
    elif household_id is None:
        return None, None, _restaurant_of(session, restaurant_id)
    else:
        row = session.execute(PARTIES_OF_HOUSEHOLD, {"household_id": household_id,
                                                     "restaurant_id": restaurant_id}).first()
        if row is None:
            return household_id, None, _restaurant_of(session, restaurant_id)
    household = Party(row.household_id, row.household_status, row.household_region,
                      row.household_organisation)
    return row.household_id, household, _restaurant(row, restaurant_id)


def _restaurant(row, restaurant_id):
    if row.restaurant_status is None:
        return None
    return Party(restaurant_id, row.restaurant_status, row.restaurant_region,
                 row.restaurant_organisation,
                 row.restaurant_scope or domain.ANY_RESTAURANT_OF_REGION)


def _restaurant_of(session, restaurant_id):
    known = session.get(Restaurant, restaurant_id)
    if known is None:
        return None
    return Party(known.id, known.status, known.region_id, known.organisation_id,
                 restaurant_scope(session, known.region_id))


def _parties_one_by_one(session, restaurant_id, card_number):
    """The rare case of an unknown card, or a card whose household is not known here yet."""
    household_id = card_holder(session, card_number)
    restaurant = _restaurant_of(session, restaurant_id)
    return household_id, None, restaurant


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
    and picks the one usable then. Rows of the table (read-only), not ORM objects: the debit
    is written by :func:`add_redemption`.
    """
    tickets = Ticket.__table__
    query = (
        select(tickets)
        .where(tickets.c.household_id == household_id, tickets.c.expired_at.is_(None),
               tickets.c.valid_until > since)
        .order_by(tickets.c.valid_from, tickets.c.id)
        .with_for_update()
    )
    return session.execute(query).all()


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


REDEMPTION_COLUMNS = [column.key for column in Redemption.__table__.columns]
# The debit and the ledger line in one statement: both or neither.
DEBIT_AND_RECORD = text(
    "WITH debit AS (UPDATE tickets SET balance_yen = :balance_after_yen WHERE id = :ticket_id)"
    f" INSERT INTO redemptions ({', '.join(REDEMPTION_COLUMNS)})"
    f" VALUES ({', '.join(':' + name for name in REDEMPTION_COLUMNS)})"
)


def add_redemption(session, ticket, restaurant, bill_yen, split, now, idempotency_key=None,
                   qr_jti=None):
    """Take ``split.applied_yen`` from the locked ticket (a row of lock_open_tickets) and
    write the ledger line; returns the line (a Redemption not attached to the session)."""
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
    session.execute(DEBIT_AND_RECORD,
                    {name: getattr(redemption, name) for name in REDEMPTION_COLUMNS})
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
