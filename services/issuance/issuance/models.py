"""Issuance's own tables: programs, the roster, runs and grants.

The two unique constraints are what make a run exactly-once, whatever calls it and however
often: one run per region and period, one grant per household and period.
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text,
    UniqueConstraint, func,
)
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class Program(Base):
    __tablename__ = "programs"

    region_id = Column(String(64), primary_key=True)
    name = Column(Text, nullable=False)
    amount_yen = Column(Integer, nullable=False)
    issue_day = Column(Integer, nullable=False)
    time_zone = Column(String(64), nullable=False)
    # 0: a redemption may be voided until the end of its local day; otherwise for this many
    # hours after it.
    void_window_hours = Column(Integer, nullable=False, default=0, server_default="0")
    late_enrolment = Column(String(16), nullable=False, default="grant_now",
                            server_default="grant_now")
    # "region": any partner restaurant of the region; "own_organisation": only those the
    # household's own organisation nominated.
    restaurant_scope = Column(String(16), nullable=False, default="region",
                              server_default="region")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())

    __table_args__ = (
        CheckConstraint("amount_yen BETWEEN 1 AND 100000", name="programs_amount_yen_range"),
        # Day 28 at most, so that every month has its issue day.
        CheckConstraint("issue_day BETWEEN 1 AND 28", name="programs_issue_day_range"),
        CheckConstraint("void_window_hours BETWEEN 0 AND 72",
                        name="programs_void_window_hours_range"),
        CheckConstraint("late_enrolment IN ('grant_now', 'next_period')",
                        name="programs_late_enrolment_choice"),
        CheckConstraint("restaurant_scope IN ('region', 'own_organisation')",
                        name="programs_restaurant_scope_choice"),
    )


class RosterHousehold(Base):
    """A household as enrollment's events describe it: no personal data, only ids."""

    __tablename__ = "roster"

    household_id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    status = Column(String(16), nullable=False)
    # Version of the enrollment fact the status comes from; 0 for an unnumbered (older) fact.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    enrolled_at = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())

    # In household order within a region's active households: a run's batches walk it from
    # where the last one ended (runs.GRANT_NEXT_BATCH), whatever the planner's statistics say.
    __table_args__ = (
        Index("roster_region_status_household", "region_id", "status", "household_id"),
    )


class Run(Base):
    """One region's issuance for one period; amount and time zone are fixed when it opens."""

    __tablename__ = "runs"

    id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False)
    period = Column(String(7), nullable=False)
    status = Column(String(16), nullable=False)
    amount_yen = Column(Integer, nullable=False)
    time_zone = Column(String(64), nullable=False)
    valid_from = Column(DateTime(timezone=True), nullable=False)
    valid_until = Column(DateTime(timezone=True), nullable=False)
    households = Column(Integer, nullable=False, default=0)
    yen_granted = Column(BigInteger, nullable=False, default=0)
    started_at = Column(DateTime(timezone=True), nullable=False)
    completed_at = Column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("region_id", "period", name="runs_one_per_region_and_period"),
        Index("runs_running", "id", postgresql_where=status == "running"),
    )


class Grant(Base):
    """One household's ticket for one period."""

    __tablename__ = "grants"

    id = Column(String(36), primary_key=True)
    run_id = Column(String(36), ForeignKey("runs.id"), nullable=False, index=True)
    household_id = Column(String(36), nullable=False)
    organisation_id = Column(String(36), nullable=False)
    region_id = Column(String(64), nullable=False)
    period = Column(String(7), nullable=False)
    amount_yen = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("household_id", "period", name="grants_one_per_household_and_period"),
    )
