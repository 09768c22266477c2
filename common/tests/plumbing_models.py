"""A stand-in service schema for testing the plumbing: messaging tables and notes."""

from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

from shokudo_common.tables import add_messaging_tables

Base = declarative_base()
add_messaging_tables(Base)


class Note(Base):
    """A stand-in business table: the tests' services write notes."""

    __tablename__ = "notes"

    id = Column(Integer, primary_key=True)
    text = Column(String(100), nullable=False)
