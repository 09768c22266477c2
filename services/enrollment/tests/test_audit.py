"""The access trail: every read and change of personal data leaves one record, holding names of
fields and never their values; a change that fails leaves none; each trail shows its own."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from shokudo_common.errors import Conflict, InvalidInput

from enrollment.models import AccessRecord

REGION = "hoshizora-ku"
CORRELATION_ID = "c0ffee00-0000-4000-8000-000000000001"  # the service fixture's (conftest)

HANAKO = {
    "external_ref": "H-001", "guardian_name": "山田 花子", "guardian_name_kana": "ヤマダ ハナコ",
    "phone": "090-1234-5678", "email": "hanako@example.jp", "postcode": "160-0022",
    "address": "星空区青葉1-2-3", "children": 2, "channel": "card", "language": "ja",
}
PERSONAL_VALUES = ("山田", "ヤマダ", "090-1234-5678", "09012345678", "hanako@example.jp",
                   "160-0022", "青葉")


def organisation_data(name, region_id=REGION):
    return {"name": name, "region_id": region_id, "contact_email": "office@example.jp",
            "contact_phone": "03-9876-5432"}


def staff_of(organisation, purpose="case_review", reason=None):
    return {"actor": f"organisation:{organisation['id']}", "purpose": purpose,
            "reason": reason}


@pytest.fixture
def organisation(service):
    return service.create_organisation(organisation_data("星空子ども支援ネット"))


@pytest.fixture
def household(service, organisation):
    return service.enrol_household(organisation["id"], HANAKO,
                                   accessor=staff_of(organisation, "enrolment"))


def records(session, action=None):
    query = select(AccessRecord).order_by(AccessRecord.id)
    if action:
        query = query.where(AccessRecord.action == action)
    session.expire_all()
    return session.scalars(query).all()


# -- each access leaves its record -------------------------------------------------------------

def test_an_enrolment_records_who_when_what_and_why_without_any_value(
        service, organisation, session):
    before = datetime.now(timezone.utc)
    household = service.enrol_household(
        organisation["id"], dict(HANAKO, postcode=None),
        accessor=staff_of(organisation, "enrolment", "紹介票 R-12 を受けて"))

    [record] = records(session)
    assert (record.actor, record.purpose, record.reason, record.action) == (
        f"organisation:{organisation['id']}", "enrolment", "紹介票 R-12 を受けて",
        "household.enrol")
    assert record.household_ids == [household["id"]]
    assert (record.organisation_id, record.region_id) == (organisation["id"], REGION)
    # The fields given or defaulted (notify_by), by name: the postcode left blank is not.
    assert record.fields == sorted([*(name for name in HANAKO if name != "postcode"),
                                    "notify_by"])
    assert record.correlation_id == CORRELATION_ID
    assert before <= record.at <= datetime.now(timezone.utc)
    assert not any(value in str(vars(record)) for value in PERSONAL_VALUES)


def test_reading_one_household_or_the_list_is_recorded(
        service, organisation, household, session):
    service.get_household(organisation["id"], household["id"], accessor=staff_of(organisation))
    service.list_households(organisation["id"],
                            accessor=staff_of(organisation, "caseload_review"))

    [read] = records(session, "household.read")
    [listed] = records(session, "household.list")
    assert read.household_ids == listed.household_ids == [household["id"]]
    assert (read.purpose, listed.purpose) == ("case_review", "caseload_review")
    assert {"guardian_name", "address", "phone"} <= set(read.fields)


@pytest.mark.parametrize("actions", [("suspend",), ("suspend", "reinstate"), ("withdraw",)])
def test_each_change_of_status_is_recorded_as_a_change_of_the_status_field(
        service, organisation, household, session, actions):
    for action in actions:
        getattr(service, f"{action}_household")(
            organisation["id"], household["id"], accessor=staff_of(organisation, "status_change"))

    changes = [record for record in records(session) if record.action != "household.enrol"]
    assert [record.action for record in changes] == [f"household.{action}" for action in actions]
    assert all(record.fields == ["status"] for record in changes)


def test_a_card_replacement_is_recorded_as_a_change_of_the_card_number(
        service, organisation, household, session):
    service.replace_card(organisation["id"], household["id"], "lost",
                         f"organisation:{organisation['id']}",
                         accessor=staff_of(organisation, "card_replacement"))

    [record] = records(session, "household.card_replace")
    assert (record.fields, record.household_ids) == (["card_number"], [household["id"]])


def test_an_import_records_created_households_and_updated_ones_with_the_fields_changed(
        service, organisation, session, sheets):
    first = service.import_households(organisation["id"], sheets.shift_jis_file(),
                                      accessor=staff_of(organisation, "spreadsheet_import"))
    rows = [list(row) for row in sheets.SHIFT_JIS_ROWS]
    rows[0][7] = "３"  # 子どもの人数
    service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows, "cp932"),
                              accessor=staff_of(organisation, "spreadsheet_import"))

    [created] = records(session, "household.import.enrol")
    [updated] = records(session, "household.import.update")
    assert sorted(created.household_ids) == sorted(row["household_id"] for row in first["rows"])
    assert (updated.household_ids, updated.fields) == ([first["rows"][0]["household_id"]],
                                                       ["children"])


def test_a_dry_run_shows_no_personal_values_and_leaves_no_record(
        service, organisation, session, sheets):
    service.import_households(organisation["id"], sheets.shift_jis_file(), dry_run=True,
                              accessor=staff_of(organisation, "spreadsheet_import"))

    assert records(session) == []


def test_contacts_given_to_notification_are_recorded_as_its_reads(
        service, organisation, household, session):
    service.get_contacts([household["id"]])

    [record] = records(session, "household.contacts")
    assert (record.actor, record.purpose) == ("service:notification", "notify_household")
    assert "email" in record.fields


def test_a_caller_that_names_no_accessor_is_still_recorded_as_unattributed(
        service, organisation, household, session):
    service.get_household(organisation["id"], household["id"])

    [record] = records(session, "household.read")
    assert (record.actor, record.purpose) == ("unattributed", "unstated")


def test_a_replayed_answer_is_recorded_as_read_again(service, organisation, session):
    accessor = staff_of(organisation, "enrolment")
    first = service.enrol_household(organisation["id"], HANAKO, idempotency_key="k-1",
                                    accessor=accessor)
    again = service.enrol_household(organisation["id"], HANAKO, idempotency_key="k-1",
                                    accessor=accessor)

    assert again["id"] == first["id"]
    assert [record.action for record in records(session)] == [
        "household.enrol", "household.enrol.replayed"]


# -- a failed change leaves none -----------------------------------------------------------------

def test_a_refused_enrolment_or_change_leaves_no_record(
        service, organisation, household, session):
    service.withdraw_household(organisation["id"], household["id"],
                               accessor=staff_of(organisation, "status_change"))
    recorded = len(records(session))

    with pytest.raises(InvalidInput):
        service.enrol_household(organisation["id"], dict(HANAKO, external_ref="H-2", phone=None,
                                                         email=None),
                                accessor=staff_of(organisation, "enrolment"))
    with pytest.raises(Conflict):
        service.enrol_household(organisation["id"], HANAKO,
                                accessor=staff_of(organisation, "enrolment"))
    with pytest.raises(Conflict):
        service.suspend_household(organisation["id"], household["id"],
                                  accessor=staff_of(organisation, "status_change"))
    with pytest.raises(Conflict):
        service.replace_card(organisation["id"], household["id"], "lost", "operator",
                             accessor=staff_of(organisation, "card_replacement"))
    session.rollback()

    assert len(records(session)) == recorded


@pytest.mark.parametrize("accessor", [
    {"actor": "organisation:x y", "purpose": "case_review"},
    {"actor": "operator", "purpose": "Case Review!"},
    {"actor": "operator", "purpose": "case_review", "reason": "x" * 201},
    {"purpose": "case_review"},
])
def test_a_malformed_accessor_is_refused_before_anything_is_read_or_written(
        service, organisation, household, session, accessor):
    with pytest.raises(InvalidInput):
        service.get_household(organisation["id"], household["id"], accessor=accessor)
    with pytest.raises(InvalidInput):
        service.suspend_household(organisation["id"], household["id"], accessor=accessor)
    session.rollback()

    assert [record.action for record in records(session)] == ["household.enrol"]
    assert service.get_household(organisation["id"], household["id"])["status"] == "active"


# -- reading the trail ---------------------------------------------------------------------------

def test_an_organisation_s_trail_shows_its_own_households_only(service, organisation):
    other = service.create_organisation(organisation_data("若葉フードパントリー"))
    ours = service.enrol_household(organisation["id"], HANAKO,
                                   accessor=staff_of(organisation, "enrolment"))
    theirs = service.enrol_household(other["id"], HANAKO, accessor=staff_of(other, "enrolment"))

    own = service.access_trail({"organisation_id": organisation["id"]})["records"]
    asking_for_theirs = service.access_trail({"organisation_id": organisation["id"],
                                              "household_id": theirs["id"]})["records"]

    assert [record["household_ids"] for record in own] == [[ours["id"]]]
    assert asking_for_theirs == []
    assert set(own[0]) == {"record_id", "at", "organisation_id", "region_id", "actor",
                           "purpose", "reason", "action", "household_ids", "fields",
                           "correlation_id"}


def test_a_region_s_trail_spans_its_organisations_and_no_other_region(service):
    here = service.create_organisation(organisation_data("星空子ども支援ネット"))
    there = service.create_organisation(organisation_data("海辺の会", region_id="umibe-shi"))
    service.enrol_household(here["id"], HANAKO, accessor=staff_of(here, "enrolment"))
    service.enrol_household(there["id"], HANAKO, accessor=staff_of(there, "enrolment"))

    trail = service.access_trail({"region_id": REGION})["records"]

    assert [record["organisation_id"] for record in trail] == [here["id"]]


def test_the_trail_is_narrowed_by_household_and_time_and_paged(
        service, organisation, household, session):
    for _ in range(3):
        service.get_household(organisation["id"], household["id"],
                              accessor=staff_of(organisation))
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    query = {"organisation_id": organisation["id"], "household_id": household["id"]}

    first = service.access_trail({**query, "limit": 3})
    rest = service.access_trail({**query, "limit": 3, "after": first["next_after"]})

    assert [len(first["records"]), len(rest["records"])] == [3, 1]
    assert rest["next_after"] is None
    assert service.access_trail({**query, "since": later.isoformat()})["records"] == []
    assert len(service.access_trail({**query, "until": later.isoformat()})["records"]) == 4


def test_a_trail_query_names_one_organisation_or_one_region(service, organisation):
    with pytest.raises(InvalidInput):
        service.access_trail({})
    with pytest.raises(InvalidInput):
        service.access_trail({"organisation_id": organisation["id"], "region_id": REGION})


# -- the office's papers and cards -----------------------------------------------------------------

def test_the_export_card_sheet_letter_and_card_changes_are_recorded(
        service, organisation, household, session):
    staff = staff_of(organisation, "paperwork")
    app = service.enrol_household(organisation["id"], dict(HANAKO, external_ref="H-APP",
                                                           channel="app"), accessor=staff)

    service.export_households(organisation["id"], accessor=staff)
    service.card_sheet(organisation["id"], household["id"], accessor=staff)
    service.app_letter(organisation["id"], app["id"], accessor=staff)
    service.block_card(organisation["id"], household["id"], "lost", "operator", accessor=staff)
    service.issue_card(organisation["id"], household["id"], accessor=staff)

    recorded = {record.action: record for record in records(session)}
    assert sorted(recorded["household.export"].household_ids) == sorted([household["id"],
                                                                        app["id"]])
    assert "address" in recorded["household.export"].fields
    assert recorded["household.card_sheet"].fields == ["card_number", "external_ref"]
    assert recorded["household.app_letter"].household_ids == [app["id"]]
    assert recorded["household.card_block"].fields == ["card_number"]
    assert recorded["household.card_issue"].fields == ["card_number"]
    assert {record.purpose for record in records(session)} == {"enrolment", "paperwork"}


def test_a_refused_card_issue_leaves_no_record(service, organisation, household, session):
    recorded = len(records(session))

    with pytest.raises(Conflict):
        service.issue_card(organisation["id"], household["id"],
                           accessor=staff_of(organisation, "paperwork"))
    session.rollback()

    assert len(records(session)) == recorded
