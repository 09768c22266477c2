"""Notification's own tables: the delivery log (which is also the queue of messages waiting to
go), the tickets it reminds families of, the time zone of each region it has heard of, and the
device each family's app registered for push messages.

The delivery log says which message went (or did not go, or waits) to whom, by opaque ids only:
it never holds an email address, a phone number, a name or the text that was sent. A waiting
message keeps the facts it will be written from (amounts, dates, organisation references); the
address is asked from enrollment when it goes.
"""

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, DateTime, Index, Integer, String, Text,
    UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class Delivery(Base):
    __tablename__ = "deliveries"

    id = Column(String(36), primary_key=True)
    event_id = Column(String(36), nullable=False)
    # Empty for a notice to an organisation, which may cover many households.
    household_id = Column(String(36))
    organisation_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False)
    channel = Column(String(32), nullable=False)
    template = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False)
    outcome = Column(String(16), nullable=False)
    # Why a message was not sent: the SMTP failure, or the reason it was skipped.
    error_code = Column(String(64))
    # The HTTP status of the provider's last refusal (SMS, push), when one answered.
    provider_status = Column(Integer)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    # The household whose contact leads to the recipient (for a notice, one of the
    # organisation's households): the address is asked from enrollment at each try.
    contact_household_id = Column(String(36))
    # What the message says, without any address; rendered at each try.
    facts = Column(JSONB)
    attempts = Column(Integer, nullable=False, server_default="0")
    # A pending message goes at or after this instant (end of quiet hours, or the next retry).
    next_attempt_at = Column(DateTime(timezone=True))
    # When a worker took it to send; a send never confirmed stays "sending" and is never
    # repeated (see repository.give_up_unconfirmed).
    sending_since = Column(DateTime(timezone=True))
    settled_at = Column(DateTime(timezone=True))
    # The correlation id of the request or fact that queued it, so that the line logging its
    # send, from a timer later on, can be followed back to that request.
    correlation_id = Column(String(64))

    __table_args__ = (
        # One event never yields the same message twice; NULL households count as equal.
        UniqueConstraint(
            "event_id", "channel", "template", "household_id", "organisation_id",
            name="deliveries_once_per_event", postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("channel IN ('email', 'sms', 'push', 'organisation_notice')",
                        name="deliveries_channel"),
        CheckConstraint("outcome IN ('pending', 'sending', 'sent', 'failed', 'skipped')",
                        name="deliveries_outcome"),
        Index("deliveries_by_region", "region_id", "channel", "outcome"),
        Index("deliveries_due", "next_attempt_at", postgresql_where=text("outcome = 'pending'")),
        Index("deliveries_sending", "sending_since",
              postgresql_where=text("outcome = 'sending'")),
    )


class TrackedTicket(Base):
    """A household's ticket for a period, as notification learns it from the ticket facts
    (tickets_issued, ticket_redeemed, ticket_voided, ticket_expired), to remind families."""

    __tablename__ = "tracked_tickets"

    # The grant's id, which redemption keeps as the ticket's id.
    ticket_id = Column(String(36), primary_key=True)
    household_id = Column(String(36), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False)
    period = Column(String(7), nullable=False)
    balance_yen = Column(Integer, nullable=False)
    # The instant of the fact that set the balance: an older fact arriving late changes nothing.
    balance_at = Column(DateTime(timezone=True))
    valid_until = Column(DateTime(timezone=True), nullable=False)
    last_day = Column(Date, nullable=False)
    time_zone = Column(String(64), nullable=False)
    remind_at = Column(DateTime(timezone=True), nullable=False)
    expired = Column(Boolean, nullable=False, server_default="false")

    __table_args__ = (
        Index("tracked_tickets_due", "remind_at",
              postgresql_where=text("NOT expired AND balance_yen > 0")),
    )


class Reminder(Base):
    """One row per household and period reminded: the key that keeps a reminder to once, even
    when replicas and timer ticks race (the second insert finds the first and does nothing)."""

    __tablename__ = "reminders"

    household_id = Column(String(36), primary_key=True)
    period = Column(String(7), primary_key=True)
    ticket_id = Column(String(36), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class RegionTimeZone(Base):
    """Learnt from tickets_issued, so receipts show dates in the region's own time zone."""

    __tablename__ = "region_time_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class PushDevice(Base):
    """The device a family's app registered for push messages: one per household, the latest
    registration winning (a new phone replaces the old one). Notification owns how families
    are reached; the token is an address, so it is never logged nor published."""

    __tablename__ = "push_devices"

    household_id = Column(String(36), primary_key=True)
    token = Column(Text, nullable=False)
    platform = Column(String(8), nullable=False)
    registered_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("platform IN ('ios', 'android')", name="push_device_platform"),
    )
