"""The directory's own tables."""

from sqlalchemy import Column, DateTime, Float, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)


class Restaurant(Base):
    __tablename__ = "restaurants"

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
    # How many changes of this restaurant have been announced; each restaurant_* event carries
    # it, so that a consumer receiving them out of order can keep the newest.
    version = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())
