"""Staff accounts, managed by the operator from the command line.

    python -m gateway.staff create --login LOGIN --role operator [--region REGION ...]
    python -m gateway.staff create --login LOGIN --role organisation --organisation-id ID
    python -m gateway.staff create --login LOGIN --role restaurant --restaurant-id ID
    python -m gateway.staff set-password --login LOGIN   (ends its sessions too)
    python -m gateway.staff disable --login LOGIN      (ends its sessions too)
    python -m gateway.staff enable --login LOGIN
    python -m gateway.staff list

The password is read from the ``SHOKUDO_STAFF_PASSWORD`` environment variable or, when that is
unset, from the first line of standard input: never from the command line, which other users
of the machine can read in the process list. The database is ``DB_URI`` (the gateway's), the
local development database when unset.

The functions below are what the CLI runs; the demo and the tests create accounts with them.
"""

import argparse
import os
import sys
import uuid

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from shokudo_common.db import make_engine
from shokudo_common.migrations import LOCAL_DEFAULT
from shokudo_common.validation import Id, RegionId, Text

from gateway import passwords
from gateway.auth import OPERATOR, ORGANISATION, RESTAURANT, STAFF_ROLES
from gateway.models import Session, StaffAccount

PASSWORD_VARIABLE = "SHOKUDO_STAFF_PASSWORD"


class AccountError(ValueError):
    """An account that cannot be created or changed as asked; the message says why."""


def normalise_login(login):
    """Logins are compared trimmed and lower-cased: ``Aoba.Staff `` is ``aoba.staff``."""
    return login.strip().lower() if isinstance(login, str) else ""


class NewAccount(Schema):
    login = Text(required=True, max_length=200)
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    organisation_id = Id(load_default=None)
    restaurant_id = Id(load_default=None)
    region_ids = fields.List(RegionId(), load_default=list)

    @validates_schema
    def scope_fits_role(self, data, **kwargs):
        """Each scoped role names its one id; only operators are limited to regions."""
        role = data.get("role")
        needs = {ORGANISATION: "organisation_id", RESTAURANT: "restaurant_id"}
        errors = {}
        for scoped_role, name in needs.items():
            if role == scoped_role and not data.get(name):
                errors[name] = [f"required for the {scoped_role} role"]
            if role != scoped_role and data.get(name):
                errors[name] = [f"only for the {scoped_role} role"]
        if role != OPERATOR and data.get("region_ids"):
            errors["region_ids"] = ["only for the operator role"]
        if errors:
            raise ValidationError(errors)


def create_account(db, login, password, role, organisation_id=None, restaurant_id=None,
                   region_ids=()):
    """A new enabled account; its id. Raises AccountError for a bad one or a taken login."""
    try:
        account = NewAccount().load({
            "login": login, "role": role, "organisation_id": organisation_id,
            "restaurant_id": restaurant_id, "region_ids": list(region_ids),
        })
    except ValidationError as error:
        raise AccountError(f"the account is not valid: {error.messages}") from None

    login = normalise_login(account["login"])
    if _account(db, login, missing_ok=True) is not None:
        raise AccountError("this login is already taken")

    created = StaffAccount(id=str(uuid.uuid4()), login=login, role=account["role"],
                           password_hash=_hashed(password),
                           organisation_id=account["organisation_id"],
                           restaurant_id=account["restaurant_id"],
                           region_ids=sorted(set(account["region_ids"])))
    db.add(created)
    db.commit()
    return created.id


def create_account_at(db_uri, login, password, role, **scope):
    """:func:`create_account` in the gateway database at ``db_uri`` (the demo and the tests)."""
    engine = make_engine(db_uri, 1)
    db = sessionmaker(bind=engine)()
    try:
        return create_account(db, login, password, role, **scope)
    finally:
        db.close()
        engine.dispose()


def set_password(db, login, password):
    """A new password; every session of the account ends, as the old password may be known."""
    account = _account(db, login)
    account.password_hash = _hashed(password)
    _end_sessions(db, account, "password_changed")
    db.commit()


def set_disabled(db, login, disabled):
    """Disable (and end every session of) an account, or enable it again."""
    account = _account(db, login)
    account.disabled = disabled
    if disabled:
        _end_sessions(db, account, "account_disabled")
    db.commit()


def _end_sessions(db, account, reason):
    # Its access tokens are refused at their next request (gateway.sessions.check_live).
    db.execute(update(Session)
               .where(Session.account_id == account.id, Session.revoked_at.is_(None))
               .values(revoked_at=func.now(), revoked_reason=reason))


def list_accounts(db):
    return db.scalars(select(StaffAccount).order_by(StaffAccount.login)).all()


def _account(db, login, missing_ok=False):
    account = db.scalars(
        select(StaffAccount).where(StaffAccount.login == normalise_login(login))
    ).first()
    if account is None and not missing_ok:
        raise AccountError("there is no account with this login")
    return account


def _hashed(password):
    try:
        return passwords.hash_password(password)
    except passwords.WeakPassword as weak:
        raise AccountError(str(weak)) from None


# -- the command line ------------------------------------------------------------------------

def read_password(environ=os.environ, stdin=sys.stdin):
    """The password from the environment, else the first line of standard input."""
    if environ.get(PASSWORD_VARIABLE):
        return environ[PASSWORD_VARIABLE]
    return stdin.readline().rstrip("\r\n")


def parser():
    commands = argparse.ArgumentParser(prog="python -m gateway.staff",
                                       description="Manage the gateway's staff accounts.")
    sub = commands.add_subparsers(dest="command", required=True)

    create = sub.add_parser("create", help="a new account (password from "
                            f"{PASSWORD_VARIABLE} or standard input)")
    create.add_argument("--login", required=True)
    create.add_argument("--role", required=True, choices=STAFF_ROLES)
    create.add_argument("--organisation-id")
    create.add_argument("--restaurant-id")
    create.add_argument("--region", action="append", default=[], dest="regions",
                        help="operators only, repeatable: the regions it may act in")

    for name, text in (("set-password", "a new password (same sources as create); ends its "
                        "sessions"),
                       ("disable", "refuse its sign-ins and end its sessions"),
                       ("enable", "let it sign in again")):
        sub.add_parser(name, help=text).add_argument("--login", required=True)
    sub.add_parser("list", help="every account, without passwords")
    return commands


def run(args, db, environ=os.environ, stdin=sys.stdin, out=sys.stdout):
    if args.command == "create":
        account_id = create_account(db, args.login, read_password(environ, stdin), args.role,
                                    args.organisation_id, args.restaurant_id, args.regions)
        print(f"created {account_id}", file=out)
    elif args.command == "set-password":
        set_password(db, args.login, read_password(environ, stdin))
        print("password set", file=out)
    elif args.command in ("disable", "enable"):
        set_disabled(db, args.login, args.command == "disable")
        print(f"{args.command}d", file=out)
    else:
        for account in list_accounts(db):
            scope = account.organisation_id or account.restaurant_id or \
                ",".join(account.region_ids) or "all regions"
            state = "disabled" if account.disabled else "enabled"
            print(f"{account.login}\t{account.role}\t{scope}\t{state}", file=out)


def main(argv=None):
    args = parser().parse_args(argv)
    engine = make_engine(os.environ.get("DB_URI",
                                        LOCAL_DEFAULT.format(database="shokudo_gateway")), 1)
    db = sessionmaker(bind=engine)()
    try:
        run(args, db)
    except AccountError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    finally:
        db.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
