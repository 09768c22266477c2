"""Enrolments and imports sent again with their idempotency key: one effect, the first answer."""

import threading

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from shokudo_common.errors import Conflict
from shokudo_common.testing import outbox_writer

from enrollment.models import Household
from enrollment.service import EnrollmentService

REGION = "hoshizora-ku"
KEY = "organisation:4f1c2d3e-0000-4000-8000-000000000001:enrol-H-001"


def household_data(external_ref="H-001", **overrides):
    return {
        "external_ref": external_ref, "guardian_name": "山田 花子",
        "guardian_name_kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": None,
        "postcode": "160-0022", "address": "星空区青葉1-2-3", "children": 2,
        "channel": "app", "language": "ja", **overrides,
    }


@pytest.fixture
def workers(database, session):
    """Each call gets a worker and session of its own, rolled back at its end as nameko's are."""
    opened = []

    def call(method, *args, **kwargs):
        session = database.make_session()
        opened.append(session)
        worker = worker_factory(EnrollmentService, db=session, outbox=outbox_writer(),
                                correlation="c0ffee00-0000-4000-8000-000000000002")
        try:
            return getattr(worker, method)(*args, **kwargs)
        finally:
            session.rollback()

    yield call
    for session in opened:
        session.close()


@pytest.fixture
def organisation(workers):
    return workers("create_organisation", {
        "name": "星空子ども支援ネット", "region_id": REGION, "household_cap": 2,
        "contact_email": "office@hoshizora-net.example.jp", "contact_phone": "03-9876-5432",
    })


def households(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Household))


# -- one household ----------------------------------------------------------------------------


def test_an_enrolment_sent_again_with_its_key_enrols_once_and_gives_the_same_code(
        workers, organisation, database, session):
    first = workers("enrol_household", organisation["id"], household_data(),
                    idempotency_key=KEY)

    again = workers("enrol_household", organisation["id"], household_data(),
                    idempotency_key=KEY)

    assert again == first
    assert again["activation_code"]
    assert households(session) == 1
    assert len(database.outbox_events("household_enrolled")) == 1


def test_the_same_key_with_another_household_is_refused_and_enrols_nothing(
        workers, organisation, session):
    workers("enrol_household", organisation["id"], household_data(), idempotency_key=KEY)

    with pytest.raises(Conflict) as raised:
        workers("enrol_household", organisation["id"], household_data("H-002"),
                idempotency_key=KEY)

    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.details == {"idempotency_key": KEY}
    assert households(session) == 1


def test_a_refused_enrolment_keeps_no_answer_so_its_retry_can_succeed(
        workers, organisation, session):
    first = workers("enrol_household", organisation["id"], household_data("H-001"))
    workers("enrol_household", organisation["id"], household_data("H-002"))
    with pytest.raises(Conflict) as raised:
        workers("enrol_household", organisation["id"], household_data("H-003"),
                idempotency_key=KEY)
    assert raised.value.code == "household_cap_reached"

    workers("withdraw_household", organisation["id"], first["id"])
    retried = workers("enrol_household", organisation["id"], household_data("H-003"),
                      idempotency_key=KEY)

    assert retried["external_ref"] == "H-003"
    assert households(session) == 3


def test_without_a_key_a_second_enrolment_is_refused_as_before(workers, organisation):
    workers("enrol_household", organisation["id"], household_data())

    with pytest.raises(Conflict) as raised:
        workers("enrol_household", organisation["id"], household_data())

    assert raised.value.code == "external_ref_taken"


def test_the_same_enrolment_sent_twice_at_once_enrols_once(
        workers, organisation, database, session):
    together = threading.Barrier(2)
    answers = []

    def send():
        together.wait(timeout=10)
        answers.append(workers("enrol_household", organisation["id"], household_data(),
                               idempotency_key=KEY))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(answers) == 2 and answers[0] == answers[1]
    assert households(session) == 1
    assert len(database.outbox_events("household_enrolled")) == 1


# -- a spreadsheet ----------------------------------------------------------------------------


def test_an_import_sent_again_with_its_key_gives_the_first_answer_and_creates_nothing_more(
        workers, organisation, database, session, sheets):
    rows = [sheets.household_row("C-001"), sheets.household_row("C-002", 利用方法="アプリ")]
    file = sheets.encoded(sheets.HEADER, rows)

    first = workers("import_households", organisation["id"], file, idempotency_key=KEY)
    events = database.outbox_events()
    again = workers("import_households", organisation["id"], file, idempotency_key=KEY)

    assert first["summary"]["created"] == 2
    # The first answer, codes and cards included, not "unchanged" line by line.
    assert again == first
    assert households(session) == 2
    assert database.outbox_events() == events


def test_the_same_key_with_another_file_is_refused(workers, organisation, session, sheets):
    first = sheets.encoded(sheets.HEADER, [sheets.household_row("C-001")])
    other = sheets.encoded(sheets.HEADER, [sheets.household_row("C-009")])
    workers("import_households", organisation["id"], first, idempotency_key=KEY)

    with pytest.raises(Conflict) as raised:
        workers("import_households", organisation["id"], other, idempotency_key=KEY)

    assert raised.value.code == "idempotency_key_reused"
    assert households(session) == 1


def test_a_dry_run_ignores_the_key_so_the_real_import_still_applies(
        workers, organisation, session, sheets):
    file = sheets.encoded(sheets.HEADER, [sheets.household_row("C-001")])

    rehearsal = workers("import_households", organisation["id"], file, dry_run=True,
                        idempotency_key=KEY)
    real = workers("import_households", organisation["id"], file, idempotency_key=KEY)

    assert rehearsal["dry_run"] is True and real["dry_run"] is False
    assert real["rows"][0]["outcome"] == "created"
    assert households(session) == 1
