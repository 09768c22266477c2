"""Tables every service keeps next to its own: the outbox, applied events and parked messages.

Each service's SQLAlchemy ``Base`` calls :func:`add_messaging_tables` so that the tables live in
the service's own database and are created by its own Alembic migrations.
"""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB


def add_messaging_tables(base):
    """Declare the three messaging tables on ``base`` and return their classes."""

    class OutboxEvent(base):
        __tablename__ = "outbox"

        id = Column(BigInteger, primary_key=True, autoincrement=True)
        event_id = Column(String(36), nullable=False, unique=True)
        event_type = Column(String(80), nullable=False)
        payload = Column(JSONB, nullable=False)
        correlation_id = Column(String(64))
        created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
        published_at = Column(DateTime(timezone=True))

        # The relay only ever looks for what is still to be published.
        __table_args__ = (
            Index("outbox_pending", "id", postgresql_where=published_at.is_(None)),
        )

    class AppliedEvent(base):
        __tablename__ = "applied_events"

        event_id = Column(String(36), primary_key=True)
        consumer = Column(String(120), primary_key=True)
        applied_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    class ParkedMessage(base):
        __tablename__ = "parked_messages"

        id = Column(BigInteger, primary_key=True, autoincrement=True)
        consumer = Column(String(120), nullable=False)
        queue = Column(String(255), nullable=False)
        event_type = Column(String(80), nullable=False)
        payload = Column(JSONB, nullable=False)
        correlation_id = Column(String(64))
        error = Column(Text, nullable=False)
        attempts = Column(Integer, nullable=False)
        parked_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
        replayed_at = Column(DateTime(timezone=True))

    return OutboxEvent, AppliedEvent, ParkedMessage
