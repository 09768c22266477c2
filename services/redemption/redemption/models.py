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
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    # The database itself refuses a balance below zero or above the grant, whatever the code.
    __table_args__ = (
        UniqueConstraint("household_id", "period", name="tickets_one_per_household_period"),
        CheckConstraint("balance_yen >= 0 AND balance_yen <= amount_yen",
                        name="tickets_balance_within_amount"),
        Index("tickets_household_window", "household_id", "valid_from", "valid_until"),
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

    __table_args__ = (
        CheckConstraint("applied_yen > 0 AND pay_at_counter_yen >= 0"
                        " AND applied_yen + pay_at_counter_yen = bill_yen",
                        name="redemptions_bill_is_split"),
        UniqueConstraint("restaurant_id", "idempotency_key",
                         name="redemptions_one_per_idempotency_key"),
        Index("redemptions_restaurant_date", "restaurant_id", "local_date"),
        Index("redemptions_region_date", "region_id", "local_date"),
    )


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
    """Each region's time zone, learnt from issuance's tickets, for its monthly reports."""

    __tablename__ = "region_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
