"""Notification's own tables: the delivery log and the time zone of each region it has heard of.

The delivery log says which message went (or did not go) to whom, by opaque ids only: it never
holds an email address, a name or the text that was sent.
"""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, String, UniqueConstraint, func
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
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        # One event never yields the same message twice; NULL households count as equal.
        UniqueConstraint(
            "event_id", "channel", "template", "household_id", "organisation_id",
            name="deliveries_once_per_event", postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("channel IN ('email', 'organisation_notice')", name="deliveries_channel"),
        CheckConstraint("outcome IN ('sent', 'failed', 'skipped')", name="deliveries_outcome"),
        Index("deliveries_by_region", "region_id", "channel", "outcome"),
    )


class RegionTimeZone(Base):
    """Learnt from tickets_issued, so receipts show dates in the region's own time zone."""

    __tablename__ = "region_time_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())
