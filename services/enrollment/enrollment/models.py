"""Enrollment's own tables: organisations, households, activation codes, cards, the audit
of replaced cards and the trail of every access to personal data."""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text,
    UniqueConstraint, func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class Organisation(Base):
    __tablename__ = "organisations"

    id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False, index=True)
    name = Column(Text, nullable=False)
    household_cap = Column(Integer, nullable=False)
    contact_email = Column(Text, nullable=False)
    contact_phone = Column(String(32), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("household_cap BETWEEN 1 AND 10000", name="organisation_cap_range"),
    )


class Household(Base):
    __tablename__ = "households"

    id = Column(String(36), primary_key=True)
    organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    region_id = Column(String(64), nullable=False, index=True)
    external_ref = Column(String(40), nullable=False)
    guardian_name = Column(Text, nullable=False)
    guardian_name_kana = Column(Text, nullable=False)
    phone = Column(String(20))
    email = Column(Text)
    postcode = Column(String(8))
    address = Column(Text, nullable=False)
    children = Column(Integer, nullable=False)
    channel = Column(String(8), nullable=False)
    language = Column(String(2), nullable=False)
    notify_by = Column(String(8), nullable=False, default="email", server_default="email")
    status = Column(String(16), nullable=False)
    # How many changes of this household have been announced; each household_* event carries
    # it, so that a consumer receiving them out of order can keep the newest.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    app_activated_at = Column(DateTime(timezone=True))
    enrolled_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        # The organisation's own reference number (管理番号) is how its spreadsheet finds a row.
        UniqueConstraint("organisation_id", "external_ref", name="household_external_ref"),
        Index("household_organisation_status", "organisation_id", "status"),
        CheckConstraint("children BETWEEN 1 AND 15", name="household_children_range"),
        CheckConstraint("channel IN ('app', 'card')", name="household_channel"),
        CheckConstraint("language IN ('ja', 'en')", name="household_language"),
        CheckConstraint(
            "status IN ('active', 'suspended', 'withdrawn')", name="household_status"
        ),
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="household_contact"),
    )


class ActivationCode(Base):
    """A one-time code for the app; only its hash is kept."""

    __tablename__ = "activation_codes"

    id = Column(BigInteger, primary_key=True, autoincrement=True)
    household_id = Column(String(36), ForeignKey("households.id"), nullable=False, index=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    issued_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    used_at = Column(DateTime(timezone=True))
    voided_at = Column(DateTime(timezone=True))


class Card(Base):
    __tablename__ = "cards"

    card_number = Column(String(16), primary_key=True)
    household_id = Column(String(36), ForeignKey("households.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False)
    issued_at = Column(DateTime(timezone=True), nullable=False)
    blocked_at = Column(DateTime(timezone=True))
    # Why and by whom a card was blocked on its own (lost, no new card yet); a card blocked by
    # a replacement, a withdrawal or a change of channel is explained elsewhere and has none.
    block_reason = Column(String(16))
    blocked_by = Column(String(160))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'blocked')", name="card_status"),
        CheckConstraint("block_reason IN ('lost', 'stolen', 'damaged', 'other')",
                        name="card_block_reason"),
        # A household holds at most one card that restaurants accept.
        Index("card_one_active_per_household", "household_id", unique=True,
              postgresql_where=status == "active"),
    )


class CardReplacement(Base):
    """One lost, stolen or damaged card replaced: which card stopped, which took over, who did
    it, when and why. Written in the same transaction as the block and the new card."""

    __tablename__ = "card_replacements"

    id = Column(String(36), primary_key=True)
    household_id = Column(String(36), ForeignKey("households.id"), nullable=False, index=True)
    organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    old_card_number = Column(String(16), ForeignKey("cards.card_number"), nullable=False,
                             unique=True)
    new_card_number = Column(String(16), ForeignKey("cards.card_number"), nullable=False,
                             unique=True)
    reason = Column(String(16), nullable=False)
    # The staff role and what it acts for, as the gateway admitted it (``organisation:<id>``,
    # ``operator``): staff have no personal accounts yet.
    replaced_by = Column(String(160), nullable=False)
    replaced_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("reason IN ('lost', 'stolen', 'damaged', 'other')",
                        name="card_replacement_reason"),
        CheckConstraint("old_card_number <> new_card_number",
                        name="card_replacement_new_card"),
    )


class HouseholdMove(Base):
    """A household that moved from one organisation to another, and the reference (管理番号) it
    had in the organisation it left: that organisation's spreadsheet may still list the family,
    and importing it again must not enrol the family a second time."""

    __tablename__ = "household_moves"

    id = Column(BigInteger, primary_key=True, autoincrement=True)
    household_id = Column(String(36), ForeignKey("households.id"), nullable=False, index=True)
    from_organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    to_organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    external_ref = Column(String(40), nullable=False)
    moved_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("household_moves_left_ref", "from_organisation_id", "external_ref"),
    )


class AccessRecord(Base):
    """One read or change of households' personal data: who, when, what and why.

    Names of fields only, never their values: the trail can be shown to the organisation and
    the operator without holding personal data itself. Changes write their record in their
    own transaction, so a change that fails leaves none.
    """

    __tablename__ = "access_records"

    id = Column(BigInteger, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    # Whose households these are: the organisation and region whose trail shows the record.
    organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    region_id = Column(String(64), nullable=False)
    # The caller as the gateway admitted it (``organisation:<id>``, ``operator``), or the
    # service that asked (``service:notification``).
    actor = Column(String(160), nullable=False)
    purpose = Column(String(40), nullable=False)
    reason = Column(String(200))
    action = Column(String(40), nullable=False)
    household_ids = Column(ARRAY(String(36)), nullable=False)
    # The personal fields read or changed, by name.
    fields = Column(ARRAY(String(40)), nullable=False)
    correlation_id = Column(String(64))

    __table_args__ = (
        Index("access_records_organisation_at", "organisation_id", "at"),
        Index("access_records_region_at", "region_id", "at"),
        Index("access_records_households", "household_ids", postgresql_using="gin"),
    )


class Concern(Base):
    """Something a partner restaurant noticed about a child (気づき), for the organisation that
    referred the household. The restaurant is named; it never learns which household it is.

    The id is the one redemption gave the concern when it announced it, so the fact delivered
    twice is kept once.
    """

    __tablename__ = "concerns"

    id = Column(String(36), primary_key=True)
    organisation_id = Column(String(36), ForeignKey("organisations.id"), nullable=False)
    household_id = Column(String(36), ForeignKey("households.id"), nullable=False)
    region_id = Column(String(64), nullable=False)
    restaurant_id = Column(String(36), nullable=False)
    # As the concern's fact named it (null for a fact from before it did).
    restaurant_name = Column(Text)
    redemption_id = Column(String(36), nullable=False)
    category = Column(String(16), nullable=False)
    note = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    raised_at = Column(DateTime(timezone=True), nullable=False)
    recorded_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    acknowledged_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('open', 'acknowledged', 'closed')", name="concern_status"),
        Index("concerns_organisation_status", "organisation_id", "status"),
        Index("concerns_restaurant", "restaurant_id"),
    )


class RegionZone(Base):
    """Each region's time zone, as issuance's last ``program_updated`` said: the instants an
    organisation reads (concerns) are given in its region's local time. A region not heard of
    is taken to be in Asia/Tokyo, the programs' default."""

    __tablename__ = "region_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())
