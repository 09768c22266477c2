"""The directory's own tables."""

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Text, cast, func
from sqlalchemy.dialects.postgresql import INT4MULTIRANGE, JSONB
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class WeekMinutes(TypeDecorator):
    """Open spans as minutes of the week, written from ``hours.as_multirange`` text.

    psycopg2 has no adapter for multiranges, so the value goes in as text cast by the
    database, and comes back as that text; only SQL ever reads it (``@>``).
    """

    impl = INT4MULTIRANGE
    cache_ok = True

    def bind_processor(self, dialect):
        return None

    def bind_expression(self, value):
        return cast(value, INT4MULTIRANGE)

    def result_processor(self, dialect, coltype):
        return None


class Restaurant(Base):
    __tablename__ = "restaurants"
    # The nearby search's bounding box: a range of latitude within one region's restaurants.
    __table_args__ = (
        Index("ix_restaurants_region_position", "region_id", "latitude", "longitude"),
    )

    id = Column(String(36), primary_key=True)
    region_id = Column(String(64), nullable=False, index=True)
    organisation_id = Column(String(36), nullable=False, index=True)
    name = Column(Text, nullable=False)
    name_kana = Column(Text, nullable=False)
    address = Column(Text, nullable=False)
    area = Column(Text, nullable=False, default="")
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)
    phone = Column(String(32), nullable=False)
    opening_hours = Column(JSONB, nullable=False)
    flags = Column(JSONB, nullable=False, default=list)
    status = Column(String(16), nullable=False, index=True)
    status_reason = Column(Text)
    # Derived from the fields above whenever they change (directory.search, directory.hours).
    search_text = Column(Text, nullable=False, server_default="")
    open_week = Column(WeekMinutes, nullable=False, server_default="{}")
    # How many changes of this restaurant have been announced; each restaurant_* event carries
    # it, so that a consumer receiving them out of order can keep the newest.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class RegionZone(Base):
    """Each region's time zone and program name, as issuance's last ``program_updated`` said.

    "Open now" is decided in the region's local time; a region not heard of yet is taken to
    be in Asia/Tokyo, the programs' default. The printed list is titled with the program's
    name (the region's id until a fact with the name arrives).
    """

    __tablename__ = "region_zones"

    region_id = Column(String(64), primary_key=True)
    time_zone = Column(String(64), nullable=False)
    program_name = Column(Text)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())
