"""``python -m gateway.staff``: the operator's accounts, passwords never on the command line."""

import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway import staff
from gateway.models import Session, StaffAccount

ORGANISATION = "aaaaaaaa-0000-4000-8000-000000000001"
PASSWORD = "a password long enough"


@pytest.fixture
def db(gateway_database):
    gateway_database.empty()
    session = gateway_database.make_session()
    yield session
    session.close()


def run(db, *argv, stdin="", environ=None):
    out = io.StringIO()
    staff.run(staff.parser().parse_args(argv), db, environ=environ or {},
              stdin=io.StringIO(stdin), out=out)
    return out.getvalue()


def test_an_account_is_created_with_the_password_from_standard_input(db):
    run(db, "create", "--login", "Aoba.Staff", "--role", "organisation",
        "--organisation-id", ORGANISATION, stdin=PASSWORD + "\n")

    [account] = db.query(StaffAccount).all()
    assert (account.login, account.role, account.organisation_id) == (
        "aoba.staff", "organisation", ORGANISATION)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


def test_the_password_may_come_from_the_environment_and_never_from_argv(db):
    run(db, "create", "--login", "op", "--role", "operator", "--region", "hoshizora-ku",
        environ={staff.PASSWORD_VARIABLE: PASSWORD})

    [account] = db.query(StaffAccount).all()
    assert account.region_ids == ["hoshizora-ku"]
    with pytest.raises(SystemExit):
        staff.parser().parse_args(["create", "--login", "x", "--role", "operator",
                                   "--password", PASSWORD])


@pytest.mark.parametrize("argv, why", [
    (("--role", "organisation"), "organisation_id"),
    (("--role", "restaurant", "--organisation-id", ORGANISATION), "restaurant_id"),
    (("--role", "organisation", "--organisation-id", ORGANISATION, "--region", "x-ku"),
     "region_ids"),
])
def test_an_account_whose_scope_does_not_fit_its_role_is_refused(db, argv, why):
    with pytest.raises(staff.AccountError, match=why):
        run(db, "create", "--login", "someone", *argv, stdin=PASSWORD)
    assert db.query(StaffAccount).count() == 0


def test_a_short_password_and_a_taken_login_are_refused(db):
    with pytest.raises(staff.AccountError, match="12"):
        run(db, "create", "--login", "op", "--role", "operator", stdin="short")
    run(db, "create", "--login", "op", "--role", "operator", stdin=PASSWORD)
    with pytest.raises(staff.AccountError, match="taken"):
        run(db, "create", "--login", "OP", "--role", "operator", stdin=PASSWORD)


def test_disable_enable_set_password_and_list(db):
    run(db, "create", "--login", "op", "--role", "operator", stdin=PASSWORD)
    first_hash = db.query(StaffAccount).one().password_hash

    run(db, "disable", "--login", "op")
    assert "disabled" in run(db, "list")
    run(db, "enable", "--login", "op")
    run(db, "set-password", "--login", "op", stdin="another long password")

    db.expire_all()
    account = db.query(StaffAccount).one()
    assert not account.disabled and account.password_hash != first_hash
    assert run(db, "list") == "op\toperator\tall regions\tenabled\n"


def test_a_new_password_ends_every_session_of_the_account_and_no_other(db):
    run(db, "create", "--login", "op", "--role", "operator", stdin=PASSWORD)
    run(db, "create", "--login", "other", "--role", "operator", stdin=PASSWORD)
    accounts = {account.login: account.id for account in db.query(StaffAccount)}
    now = datetime.now(timezone.utc)
    for login in ("op", "op", "other"):
        db.add(Session(id=str(uuid.uuid4()), kind="staff", account_id=accounts[login],
                       created_at=now, expires_at=now + timedelta(hours=1)))
    db.commit()

    run(db, "set-password", "--login", "op", stdin="another long password")

    db.expire_all()
    ended = {(session.account_id, session.revoked_reason) for session in db.query(Session)}
    assert ended == {(accounts["op"], "password_changed"), (accounts["other"], None)}
