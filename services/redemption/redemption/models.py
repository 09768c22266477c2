"""Redemption's own tables: the ticket balances, the ledger, the declines and the projections.

Tickets, restaurants, households, cards and region time zones are projections of other
services' facts; the ledger (redemptions) and the declines are this service's own record.
Household rows hold an opaque id, a region, an organisation and a status: no personal data.
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String,
    Text, UniqueConstraint, func,
)
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class Ticket(Base):
    """One grant of one period to one household, and what is left of it."""

    __tablename__ = "tickets"

    id = Column(String(36), primary_key=True)  # the grant id from issuance
    household_id = Column(String(36), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False, index=True)
    period = Column(String(7), nullable=False)
    amount_yen = Column(Integer, nullable=False)
    balance_yen = Column(Integer, nullable=False)
    time_zone = Column(String(64), nullable=False)
    valid_from = Column(DateTime(timezone=True), nullable=False)
    valid_until = Column(DateTime(timezone=True), nullable=False)
    run_id = Column(String(36))
    # Set once, when the window closes: what was left then (and any yen a later void gave
    # back, which could not be spent either). The balance is zero from then on.
    expired_yen = Column(Integer)
    expired_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    # The database itself refuses a balance below zero or above the grant, whatever the code,
    # and a balance on an expired ticket.
    __table_args__ = (
        UniqueConstraint("household_id", "period", name="tickets_one_per_household_period"),
        CheckConstraint("balance_yen >= 0 AND balance_yen <= amount_yen",
                        name="tickets_balance_within_amount"),
        CheckConstraint("(expired_at IS NULL AND expired_yen IS NULL) OR (expired_at IS NOT NULL"
                        " AND balance_yen = 0 AND expired_yen BETWEEN 0 AND amount_yen)",
                        name="tickets_nothing_to_spend_once_expired"),
        Index("tickets_household_window", "household_id", "valid_from", "valid_until"),
        # What the expiry timer looks for: tickets not yet expired, by the end of their window.
        Index("tickets_to_expire", "valid_until", postgresql_where=expired_at.is_(None)),
    )


class Redemption(Base):
    """One line of the ledger: a bill, what the ticket paid and what the family paid."""

    __tablename__ = "redemptions"

    id = Column(String(36), primary_key=True)
    ticket_id = Column(String(36), ForeignKey("tickets.id"), nullable=False, index=True)
    household_id = Column(String(36), nullable=False, index=True)
    organisation_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False)
    restaurant_id = Column(String(36), nullable=False)
    bill_yen = Column(Integer, nullable=False)
    applied_yen = Column(Integer, nullable=False)
    pay_at_counter_yen = Column(Integer, nullable=False)
    balance_after_yen = Column(Integer, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    local_date = Column(Date, nullable=False)
    idempotency_key = Column(String(100))
    # The jti of the app's QR code that paid this bill (None for a card): one bill per code.
    qr_jti = Column(String(64))

    __table_args__ = (
        UniqueConstraint("qr_jti", name="redemptions_one_per_qr_token"),
        CheckConstraint("applied_yen > 0 AND pay_at_counter_yen >= 0"
                        " AND applied_yen + pay_at_counter_yen = bill_yen",
                        name="redemptions_bill_is_split"),
        UniqueConstraint("restaurant_id", "idempotency_key",
                         name="redemptions_one_per_idempotency_key"),
        Index("redemptions_restaurant_date", "restaurant_id", "local_date"),
        Index("redemptions_region_date", "region_id", "local_date"),
    )


class Void(Base):
    """A redemption undone by its restaurant: the other half of a pair in the ledger.

    The redemption stays as it was; this row says it no longer counts and how many yen went
    back to the ticket. One per redemption, whatever is retried or raced.
    """

    __tablename__ = "voids"

    id = Column(String(36), primary_key=True)
    redemption_id = Column(String(36), ForeignKey("redemptions.id"), nullable=False,
                           unique=True)
    ticket_id = Column(String(36), ForeignKey("tickets.id"), nullable=False, index=True)
    restaurant_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False)
    voided_yen = Column(Integer, nullable=False)
    balance_after_yen = Column(Integer, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    local_date = Column(Date, nullable=False)

    __table_args__ = (
        CheckConstraint("voided_yen > 0", name="voids_give_back_something"),
    )


class ClosedStatement(Base):
    """A restaurant's month that is settled: its redemptions can no longer be voided."""

    __tablename__ = "closed_statements"

    restaurant_id = Column(String(36), primary_key=True)
    month = Column(String(7), primary_key=True)
    closed_at = Column(DateTime(timezone=True), nullable=False)
    closed_by = Column(String(40), nullable=False)


class Decline(Base):
    """A refused redemption: where, why and when. Nothing about the household."""

    __tablename__ = "declines"

    id = Column(BigInteger, primary_key=True, autoincrement=True)
    restaurant_id = Column(String(36), nullable=False)
    region_id = Column(String(64))  # unknown when the restaurant is unknown
    reason = Column(String(40), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    local_date = Column(Date, nullable=False)

    __table_args__ = (Index("declines_region_date", "region_id", "local_date"),)


class Restaurant(Base):
    """Projection of directory's restaurants: enough to accept or refuse a ticket."""

    __tablename__ = "restaurants"

    id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    name = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    # Version of directory's fact the row comes from; 0 for an unnumbered (older) fact.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class Household(Base):
    """Projection of enrollment's households: an opaque id, where it belongs, its status."""

    __tablename__ = "households"

    id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    status = Column(String(16), nullable=False)
    # Version of enrollment's fact the row comes from; 0 for an unnumbered (older) fact.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class Card(Base):
    """Projection of enrollment's physical cards; a blocked card stays blocked.

    Known shortcoming: the number is kept as printed; a keyed hash would keep a copy of this
    table from being usable at a counter.
    """

    __tablename__ = "cards"

    card_number = Column(String(16), primary_key=True)
    household_id = Column(String(36), nullable=False, index=True)
    region_id = Column(String(64))
    status = Column(String(16), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class RegionZone(Base):
    """Each region's time zone, void window and restaurant scope, from issuance's programs
    (or, until a program is heard of, the time zone of the region's first tickets)."""

    __tablename__ = "region_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
    # 0: a redemption may be voided until the end of its local day; otherwise for this many
    # hours after it.
    void_window_hours = Column(Integer, nullable=False, default=0, server_default="0")
    # "region": any partner restaurant of the region; "own_organisation": only those the
    # household's own organisation nominated.
    restaurant_scope = Column(String(16), nullable=False, default="region",
                              server_default="region")
