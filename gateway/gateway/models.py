"""The gateway's own tables: who may sign in, and the sessions their refresh tokens keep open.

The gateway holds no business data: a staff account names the one organisation or restaurant it
acts for by id, and a device session the household by id. Passwords are argon2 hashes and
refresh tokens SHA-256 hashes (they are long random strings), so a copy of this database lets
no one sign in.
"""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id = Column(String(36), primary_key=True)
    # Compared as typed after trimming and lower-casing (see gateway.staff.normalise_login).
    login = Column(String(200), nullable=False, unique=True)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False)
    organisation_id = Column(String(36))
    restaurant_id = Column(String(36))
    # Operators only: the regions they may act in; empty means every region.
    region_ids = Column(ARRAY(String(64)), nullable=False, default=list, server_default="{}")
    disabled = Column(Boolean, nullable=False, default=False, server_default="false")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                        onupdate=func.now())


class Session(Base):
    """A staff member's sign-in or a family's app, kept open by a chain of refresh tokens."""

    __tablename__ = "sessions"

    id = Column(String(36), primary_key=True)
    kind = Column(String(16), nullable=False)  # staff | device
    account_id = Column(String(36), ForeignKey("staff_accounts.id"), index=True)
    household_id = Column(String(36), index=True)
    region_id = Column(String(64))
    organisation_id = Column(String(36))
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    revoked_at = Column(DateTime(timezone=True))
    revoked_reason = Column(String(32))


class RefreshToken(Base):
    """One link of a session's chain: used once, then replaced by the next."""

    __tablename__ = "refresh_tokens"

    token_hash = Column(String(64), primary_key=True)
    session_id = Column(String(36), ForeignKey("sessions.id"), nullable=False, index=True)
    issued_at = Column(DateTime(timezone=True), nullable=False)
    replaced_at = Column(DateTime(timezone=True))
