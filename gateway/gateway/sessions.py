"""Sessions: a staff member's sign-in and a family's app, each kept open by refresh tokens.

    sign-in (login, password) ─┐                      ┌─ access token (15 min, JWT)
                               ├─ session ── token ───┤
    activation code (the app) ─┘     │                └─ refresh token (random, once)
                                     │
    refresh(token) ── the token's next link: a new access token and a new refresh token
    refresh(an already used token) ── someone kept a copy: the whole session is revoked
    sign-out, a new activation code, a disabled account ── the session ends

A staff session lasts a working day from sign-in; a device session lasts as long as the app is
used at least once in 180 days. Only SHA-256 hashes of refresh tokens are stored.
"""

import hashlib
import logging
import secrets
import uuid
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import select, update

from shokudo_common.clock import SystemClock
from shokudo_common.db import Database

from gateway import passwords
from gateway.auth import HOUSEHOLD, OPERATOR, Caller, TokenDesk
from gateway.errors import Unauthenticated
from gateway.models import RefreshToken, Session, StaffAccount
from gateway.staff import normalise_login

log = logging.getLogger(__name__)

STAFF, DEVICE = "staff", "device"
STAFF_SESSION_LIFETIME = timedelta(hours=12)
DEVICE_SESSION_IDLE = timedelta(days=180)

SESSIONS_OPENED = Counter(
    "shokudo_gateway_sessions_opened_total",
    "Sessions opened: staff sign-ins and app activations, by role",
    ["role"],
)
SIGN_INS_REFUSED = Counter(
    "shokudo_gateway_sign_ins_refused_total",
    "Sign-ins and refreshes refused, by reason",
    ["reason"],
)


def new_refresh_token():
    return secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def caller_of_account(account):
    """The Caller a staff account acts as, its scope read afresh on every refresh."""
    if account.role == OPERATOR:
        return Caller(OPERATOR, region_ids=tuple(account.region_ids or ()), staff_id=account.id)
    return Caller(account.role, organisation_id=account.organisation_id,
                  restaurant_id=account.restaurant_id, staff_id=account.id)


def _refused(code, message, reason=None):
    SIGN_INS_REFUSED.labels(reason or code).inc()
    return Unauthenticated(code, message)


class SessionDesk:
    """What a worker sees: sessions opened, renewed and ended in the gateway's database."""

    def __init__(self, db, tokens, clock):
        self.db = db
        self.tokens = tokens
        self.clock = clock

    # -- opening --------------------------------------------------------------------------

    def sign_in(self, login, password):
        account = self.db.scalars(
            select(StaffAccount).where(StaffAccount.login == normalise_login(login))
        ).first()

        # An unknown login is checked against a decoy hash: refused alike, and as slowly.
        if not passwords.verify(account.password_hash if account else None, password):
            raise _refused("invalid_credentials", "the login or the password is wrong")
        if account.disabled:
            raise _refused("account_disabled",
                           "this account is disabled; ask the operator to enable it")

        now = self.clock.now()
        session = Session(id=str(uuid.uuid4()), kind=STAFF, account_id=account.id,
                          created_at=now, expires_at=now + STAFF_SESSION_LIFETIME)
        return self._opened(session, caller_of_account(account))

    def activate(self, household):
        """A device session for the household enrollment has just activated the app for."""
        now = self.clock.now()
        session = Session(id=str(uuid.uuid4()), kind=DEVICE,
                          household_id=household["household_id"],
                          region_id=household["region_id"],
                          organisation_id=household["organisation_id"],
                          created_at=now, expires_at=now + DEVICE_SESSION_IDLE)
        return self._opened(session, Caller(HOUSEHOLD, household_id=session.household_id))

    def _opened(self, session, caller):
        self.db.add(session)
        self.db.flush()  # the session row before its first token's, which refers to it
        refresh_token = self._next_link(session)
        self.db.commit()

        SESSIONS_OPENED.labels(caller.role).inc()
        log.info("session opened", extra={"session_id": session.id, "kind": session.kind,
                                          "role": caller.role, **caller.scope_claims()})
        return self._answer(session, caller, refresh_token)

    # -- renewing -------------------------------------------------------------------------

    def refresh(self, refresh_token):
        """The next access and refresh tokens; an already used token revokes its session."""
        link, session = self._link_of(refresh_token)
        now = self.clock.now()

        if link.replaced_at is not None:
            # Two holders of one token: the thief or the owner; neither may go on.
            self._revoke(session, "refresh_token_reused", now)
            self.db.commit()
            log.warning("refresh token reused: session revoked",
                        extra={"session_id": session.id, "kind": session.kind})
            raise _refused("refresh_token_reused",
                           "this refresh token was already used; the session is ended, "
                           "sign in again")

        caller = self._caller_of(session, now)
        link.replaced_at = now
        if session.kind == DEVICE:
            session.expires_at = now + DEVICE_SESSION_IDLE
        next_token = self._next_link(session)
        self.db.commit()
        return self._answer(session, caller, next_token)

    def _link_of(self, refresh_token):
        link = self.db.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token))
            .with_for_update()
        ).first()
        session = self.db.get(Session, link.session_id, with_for_update=True) if link else None
        if session is None or session.revoked_at is not None \
                or session.expires_at <= self.clock.now():
            self.db.rollback()
            raise _refused("invalid_refresh_token",
                           "the refresh token is not valid or its session has ended; "
                           "sign in again")
        return link, session

    def _caller_of(self, session, now):
        if session.kind == DEVICE:
            return Caller(HOUSEHOLD, household_id=session.household_id)

        account = self.db.get(StaffAccount, session.account_id)
        if account.disabled:
            self._revoke(session, "account_disabled", now)
            self.db.commit()
            raise _refused("account_disabled",
                           "this account is disabled; ask the operator to enable it")
        return caller_of_account(account)

    # -- ending ---------------------------------------------------------------------------

    def sign_out(self, refresh_token):
        """End the session of ``refresh_token``; an unknown or ended one is ended already."""
        link = self.db.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token))
        ).first()
        session = self.db.get(Session, link.session_id, with_for_update=True) if link else None
        if session is not None and session.revoked_at is None:
            self._revoke(session, "signed_out", self.clock.now())
            log.info("signed out", extra={"session_id": session.id, "kind": session.kind})
        self.db.commit()

    def end_device_sessions(self, household_id, reason):
        """Revoke every app of a household (a lost phone): each must be activated again."""
        ended = self.db.execute(
            update(Session)
            .where(Session.kind == DEVICE, Session.household_id == household_id,
                   Session.revoked_at.is_(None))
            .values(revoked_at=self.clock.now(), revoked_reason=reason)
        ).rowcount
        self.db.commit()
        log.info("device sessions ended", extra={"household_id": household_id,
                                                 "sessions": ended, "reason": reason})
        return ended

    # -- the links ------------------------------------------------------------------------

    def _next_link(self, session):
        token = new_refresh_token()
        self.db.add(RefreshToken(token_hash=token_hash(token), session_id=session.id,
                                 issued_at=self.clock.now()))
        return token

    @staticmethod
    def _revoke(session, reason, now):
        session.revoked_at = now
        session.revoked_reason = reason

    def _answer(self, session, caller, refresh_token):
        scope = {"region_ids": list(caller.region_ids)} if caller.role == OPERATOR else {}
        if session.kind == DEVICE:
            scope = {"region_id": session.region_id, "organisation_id": session.organisation_id}
        return {**self.tokens.issue(caller), "refresh_token": refresh_token,
                "refresh_expires_at": session.expires_at.isoformat(), "role": caller.role,
                **caller.scope_claims(), **scope}


class Sessions(Database):
    """The gateway's own database (``DB_URI``), seen through a :class:`SessionDesk`."""

    def setup(self):
        super().setup()
        self.secret = self.container.config["GATEWAY_TOKEN_SECRET"]

    def get_dependency(self, worker_ctx):
        return SessionDesk(super().get_dependency(worker_ctx), TokenDesk(self.secret),
                           SystemClock())
