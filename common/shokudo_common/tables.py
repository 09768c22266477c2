"""Tables every service keeps next to its own: the outbox, applied events, parked messages and
the answers given to requests that carried an idempotency key.

Each service's SQLAlchemy ``Base`` calls :func:`add_messaging_tables` so that the tables live in
the service's own database and are created by its own Alembic migrations.
"""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB


def add_messaging_tables(base):
    """Declare the shared tables on ``base``; return the three messaging tables' classes.

    ``idempotent_requests`` is declared too but not returned, so that every service's
    ``OutboxEvent, AppliedEvent, ParkedMessage = add_messaging_tables(Base)`` keeps working:
    :mod:`shokudo_common.idempotency` reaches it through SQL alone.
    """

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

    class IdempotentRequest(base):
        """A request that changed something, by the key its caller gave it, and its answer."""

        __tablename__ = "idempotent_requests"

        # The operation (``enrollment.enrol_household``) and the caller's key, which the
        # gateway prefixes with the caller (``organisation:<id>:<key>``).
        scope = Column(String(80), primary_key=True)
        key = Column(String(200), primary_key=True)
        # sha256 of the request's canonical JSON: the same key for another request is refused.
        fingerprint = Column(String(64), nullable=False)
        # Null while the request is under way (or was cut short): stored before its commit.
        answer = Column(JSONB)
        created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    return OutboxEvent, AppliedEvent, ParkedMessage
