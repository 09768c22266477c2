"""Sessions: a staff member's sign-in and a family's app, each kept open by refresh tokens.

    sign-in (login, password) ─┐                      ┌─ access token (15 min, JWT)
                               ├─ session ── token ───┤
    activation code (the app) ─┘     │                └─ refresh token (random, once)
                                     │
    refresh(token) ── the token's next link: a new access token and a new refresh token
    refresh(an already used token) ── someone kept a copy: the whole session is revoked
    sign-out, a new activation code, a disabled account, a new password ── the session ends

A staff session lasts a working day from sign-in; a device session lasts as long as the app is
used at least once in 180 days. Only SHA-256 hashes of refresh tokens are stored.

Every access token names its session, and every request with one looks the session up
(:meth:`SessionDesk.check_live`, one primary-key read joined to the account): an ended session
is refused at once, each way of ending with its own code, not at the token's expiry. There is
no cache, so the bound is zero: the read costs about a millisecond of the gateway's database.
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
from shokudo_common.signing_secrets import checked_secret

from gateway import passwords
from gateway.auth import HOUSEHOLD, OPERATOR, SECRET_KEY, Caller, TokenDesk
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


# Why a session ended (``sessions.revoked_reason``) and what its access tokens are answered.
ENDED = {
    "signed_out": ("session_signed_out", "this session was signed out; sign in again"),
    "account_disabled": ("account_disabled",
                         "this account is disabled; ask the operator to enable it"),
    "password_changed": ("password_changed",
                         "the account's password was changed; sign in with the new one"),
    "new_activation_code": ("app_signed_out",
                            "the organisation issued a new activation code for this household; "
                            "activate the app again with it"),
    "refresh_token_reused": ("session_revoked",
                             "this session was ended because its refresh token was used twice; "
                             "sign in again"),
}
# The codes check_live answers, each a 401 (gateway.openapi lists them on every route).
SESSION_CODES = ("session_signed_out", "account_disabled", "password_changed", "app_signed_out",
                 "session_revoked", "session_expired")


def caller_of_account(account, session_id):
    """The Caller a staff account acts as, its scope read afresh on every refresh."""
    if account.role == OPERATOR:
        return Caller(OPERATOR, region_ids=tuple(account.region_ids or ()), staff_id=account.id,
                      session_id=session_id)
    return Caller(account.role, organisation_id=account.organisation_id,
                  restaurant_id=account.restaurant_id, staff_id=account.id,
                  session_id=session_id)


def device_caller(session):
    return Caller(HOUSEHOLD, household_id=session.household_id, session_id=session.id)


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
        return self._opened(session, caller_of_account(account, session.id))

    def activate(self, household):
        """A device session for the household enrollment has just activated the app for."""
        now = self.clock.now()
        session = Session(id=str(uuid.uuid4()), kind=DEVICE,
                          household_id=household["household_id"],
                          region_id=household["region_id"],
                          organisation_id=household["organisation_id"],
                          created_at=now, expires_at=now + DEVICE_SESSION_IDLE)
        return self._opened(session, device_caller(session))

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
            return device_caller(session)

        account = self.db.get(StaffAccount, session.account_id)
        if account.disabled:
            self._revoke(session, "account_disabled", now)
            self.db.commit()
            raise _refused("account_disabled",
                           "this account is disabled; ask the operator to enable it")
        return caller_of_account(account, session.id)

    # -- every request --------------------------------------------------------------------

    def check_live(self, caller):
        """Refuse (401) a token whose session has ended, saying how it ended.

        The session must be the token's own (its account, or its household), not revoked, not
        past its end, and a staff account must not be disabled.
        """
        found = self.db.execute(
            select(Session, StaffAccount.disabled)
            .outerjoin(StaffAccount, StaffAccount.id == Session.account_id)
            .where(Session.id == caller.session_id)
        ).first()
        # A read only: the connection goes back to the pool before the route calls a service.
        self.db.rollback()
        if found is None or not _session_of(found[0], caller):
            raise Unauthenticated("invalid_token", "the token is not valid")
        session, disabled = found

        if session.revoked_at is not None:
            code, message = ENDED.get(session.revoked_reason,
                                      ("session_revoked", "this session was ended; sign in again"))
            raise Unauthenticated(code, message)
        if disabled:
            raise Unauthenticated("account_disabled",
                                  "this account is disabled; ask the operator to enable it")
        if session.expires_at <= self.clock.now():
            raise Unauthenticated("session_expired", "this session has ended; sign in again")

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


def _session_of(session, caller):
    """Whether ``session`` is the one ``caller``'s token was issued for."""
    if caller.role == HOUSEHOLD:
        return session.kind == DEVICE and session.household_id == caller.household_id
    return session.kind == STAFF and session.account_id == caller.staff_id


class Sessions(Database):
    """The gateway's own database (``DB_URI``), seen through a :class:`SessionDesk`."""

    def setup(self):
        config = self.container.config
        self.secret = checked_secret(SECRET_KEY, config.get(SECRET_KEY), config)
        super().setup()

    def get_dependency(self, worker_ctx):
        return SessionDesk(super().get_dependency(worker_ctx), TokenDesk(self.secret),
                           SystemClock())
