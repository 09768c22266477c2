import json
import logging
import re

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from shokudo_common.errors import Conflict, InvalidInput, NotFound

from enrollment import domain

REGION = "hoshizora-ku"
UNKNOWN = "00000000-0000-0000-0000-000000000000"

# The keys of each fact, as docs/contracts.md lists them (event_id is added by the outbox).
HOUSEHOLD_FACT = {"household_id", "region_id", "organisation_id", "channel", "language",
                  "status", "enrolled_at", "version", "event_id"}
FACT_KEYS = {
    "household_enrolled": HOUSEHOLD_FACT,
    "household_suspended": HOUSEHOLD_FACT,
    "household_reinstated": HOUSEHOLD_FACT,
    "household_withdrawn": HOUSEHOLD_FACT,
    "household_activated": {"household_id", "event_id"},
    "card_issued": {"household_id", "region_id", "card_number", "replacement_id", "event_id"},
    "card_blocked": {"household_id", "card_number", "replacement_id", "event_id"},
}


def organisation_data(**overrides):
    data = {
        "name": "星空子ども支援ネット",
        "region_id": REGION,
        "contact_email": "office@hoshizora-net.example.jp",
        "contact_phone": "03-9876-5432",
    }
    data.update(overrides)
    return data


def household_data(external_ref="H-001", **overrides):
    data = {
        "external_ref": external_ref,
        "guardian_name": "山田 花子",
        "guardian_name_kana": "ヤマダ ハナコ",
        "phone": "090-1234-5678",
        "email": "hanako@example.jp",
        "postcode": "160-0022",
        "address": "星空区青葉1-2-3",
        "children": 2,
        "channel": "app",
        "language": "ja",
    }
    data.update(overrides)
    return data


@pytest.fixture
def organisation(service):
    return service.create_organisation(organisation_data())


@pytest.fixture
def other_organisation(service):
    return service.create_organisation(organisation_data(name="若葉フードパントリー"))


def enrolled_counter(channel):
    labels = {"region_id": REGION, "channel": channel}
    return REGISTRY.get_sample_value("shokudo_households_enrolled_total", labels) or 0


def import_counter(outcome):
    labels = {"outcome": outcome}
    return REGISTRY.get_sample_value("shokudo_household_imports_rows_total", labels) or 0


def details(household):
    """What the organisation said about a household, without ids and instants."""
    return {name: household[name] for name in domain.DETAIL_FIELDS}


# -- organisations -----------------------------------------------------------------------------

def test_an_organisation_gets_the_default_cap_and_is_listed_in_its_region(service, organisation):
    assert organisation["household_cap"] == 20
    assert service.get_organisation(organisation["id"]) == organisation
    assert service.list_organisations(REGION) == [organisation]
    assert service.list_organisations("other-ku") == []


def test_a_bad_organisation_names_every_bad_field(service):
    with pytest.raises(InvalidInput) as raised:
        service.create_organisation(organisation_data(
            household_cap=0, contact_email="office", region_id="Hoshizora Ku",
        ))

    assert set(raised.value.details["fields"]) == {"household_cap", "contact_email", "region_id"}
    assert service.list_organisations(REGION) == []


# -- enrolment ---------------------------------------------------------------------------------

def test_an_app_household_gets_a_one_time_code_and_its_enrolment_is_announced(
        service, organisation, database):
    before = enrolled_counter("app")

    household = service.enrol_household(organisation["id"], household_data())

    assert household["status"] == "active"
    assert household["region_id"] == REGION
    assert household["card_number"] is None
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", household["activation_code"])
    [enrolled] = database.outbox_events("household_enrolled")
    assert enrolled["household_id"] == household["id"]
    assert enrolled["channel"] == "app"
    assert enrolled["status"] == "active"
    assert database.outbox_events("card_issued") == []
    assert enrolled_counter("app") == before + 1


def test_a_card_household_gets_a_luhn_checked_card_number_that_is_announced(
        service, organisation, database):
    household = service.enrol_household(organisation["id"], household_data(channel="card"))

    assert domain.is_valid_card_number(household["card_number"])
    assert "activation_code" not in household
    [issued] = database.outbox_events("card_issued")
    assert issued["card_number"] == household["card_number"]
    assert issued["region_id"] == REGION
    assert service.get_household(organisation["id"], household["id"])["card_number"] == (
        household["card_number"]
    )


def test_full_width_input_is_kept_in_its_narrow_form(service, organisation):
    household = service.enrol_household(organisation["id"], household_data(
        external_ref="Ｈ－００１", phone="０９０ー１２３４ー５６７８", postcode="〒１６０－００２２",
        guardian_name_kana="ﾔﾏﾀﾞ ﾊﾅｺ", email="",
    ))

    assert household["external_ref"] == "H-001"
    assert household["phone"] == "090-1234-5678"
    assert household["postcode"] == "160-0022"
    assert household["guardian_name_kana"] == "ヤマダ ハナコ"
    assert household["email"] is None


def test_a_bad_household_names_every_bad_field_and_writes_nothing(
        service, organisation, database):
    with pytest.raises(InvalidInput) as raised:
        service.enrol_household(organisation["id"], household_data(
            guardian_name_kana="Yamada", children=16, channel="fax", postcode="1600",
        ))

    fields = raised.value.details["fields"]
    assert set(fields) == {"guardian_name_kana", "children", "channel", "postcode"}
    assert service.list_households(organisation["id"]) == []
    assert database.outbox_events() == []


def test_a_household_needs_a_phone_or_an_email(service, organisation):
    with pytest.raises(InvalidInput) as raised:
        service.enrol_household(organisation["id"], household_data(phone=None, email=" "))

    assert set(raised.value.details["fields"]) == {"phone", "email"}


def test_the_same_reference_cannot_be_enrolled_twice_in_one_organisation(
        service, organisation, other_organisation):
    service.enrol_household(organisation["id"], household_data("H-001"))

    with pytest.raises(Conflict) as raised:
        service.enrol_household(organisation["id"], household_data("H-001"))

    assert raised.value.code == "external_ref_taken"
    service.enrol_household(other_organisation["id"], household_data("H-001"))


def test_enrolling_beyond_the_cap_is_refused_with_the_cap_in_details(service, database):
    organisation = service.create_organisation(organisation_data(household_cap=2))
    service.enrol_household(organisation["id"], household_data("H-001"))
    service.enrol_household(organisation["id"], household_data("H-002"))
    events_before = database.outbox_events()

    with pytest.raises(Conflict) as raised:
        service.enrol_household(organisation["id"], household_data("H-003"))

    assert raised.value.code == "household_cap_reached"
    assert raised.value.details["cap"] == 2
    assert len(service.list_households(organisation["id"])) == 2
    assert database.outbox_events() == events_before


def test_the_cap_counts_active_households_only_and_guards_reinstatement(service):
    organisation = service.create_organisation(organisation_data(household_cap=2))
    first = service.enrol_household(organisation["id"], household_data("H-001"))
    second = service.enrol_household(organisation["id"], household_data("H-002"))
    service.suspend_household(organisation["id"], first["id"])
    service.withdraw_household(organisation["id"], second["id"])
    service.enrol_household(organisation["id"], household_data("H-003"))
    service.enrol_household(organisation["id"], household_data("H-004"))

    with pytest.raises(Conflict) as raised:
        service.reinstate_household(organisation["id"], first["id"])

    assert raised.value.code == "household_cap_reached"
    assert service.get_household(organisation["id"], first["id"])["status"] == "suspended"


# -- lifecycle ---------------------------------------------------------------------------------

def test_suspension_reinstatement_and_withdrawal_are_announced(service, organisation, database):
    household = service.enrol_household(organisation["id"], household_data(channel="card"))

    service.suspend_household(organisation["id"], household["id"])
    service.reinstate_household(organisation["id"], household["id"])
    withdrawn = service.withdraw_household(organisation["id"], household["id"])

    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["card_number"] is None
    assert [event["status"] for event in database.outbox_events()
            if event.get("status")] == ["active", "suspended", "active", "withdrawn"]
    [blocked] = database.outbox_events("card_blocked")
    assert blocked["card_number"] == household["card_number"]
    with pytest.raises(Conflict) as raised:
        service.reinstate_household(organisation["id"], household["id"])
    assert raised.value.code == "household_status_conflict"


def household_versions(database, household_id):
    """(event type, version) of each household_* fact about one household, in outbox order."""
    return [(event_type, event["version"])
            for event_type in ("household_enrolled", "household_suspended",
                               "household_reinstated", "household_withdrawn")
            for event in database.outbox_events(event_type)
            if event["household_id"] == household_id]


def test_each_announced_change_of_a_household_carries_the_next_version(
        service, organisation, database, session):
    household = service.enrol_household(organisation["id"], household_data("H-001"))
    neighbour = service.enrol_household(organisation["id"], household_data("H-002"))

    service.suspend_household(organisation["id"], household["id"])
    service.reinstate_household(organisation["id"], household["id"])
    service.suspend_household(organisation["id"], household["id"])
    service.withdraw_household(organisation["id"], household["id"])

    # Outbox order is the order of the changes; versions must climb by one along it.
    in_order = [(event["household_id"], event["status"], event["version"])
                for event in database.outbox_events() if "version" in event]
    assert [entry for entry in in_order if entry[0] == household["id"]] == [
        (household["id"], "active", 1), (household["id"], "suspended", 2),
        (household["id"], "active", 3), (household["id"], "suspended", 4),
        (household["id"], "withdrawn", 5),
    ]
    # Each household counts its own changes.
    assert household_versions(database, neighbour["id"]) == [("household_enrolled", 1)]
    stored = session.execute(text("SELECT version FROM households WHERE id = :id"),
                             {"id": household["id"]}).scalar()
    assert stored == 5


def test_a_refused_change_announces_nothing_and_keeps_the_version(
        service, organisation, database, session):
    household = service.enrol_household(organisation["id"], household_data())
    service.withdraw_household(organisation["id"], household["id"])

    with pytest.raises(Conflict):
        service.reinstate_household(organisation["id"], household["id"])

    assert household_versions(database, household["id"]) == [
        ("household_enrolled", 1), ("household_withdrawn", 2),
    ]
    stored = session.execute(text("SELECT version FROM households WHERE id = :id"),
                             {"id": household["id"]}).scalar()
    assert stored == 2


def test_imported_households_start_at_version_one_and_unannounced_updates_keep_it(
        service, organisation, database, session, sheets):
    first = service.import_households(organisation["id"], sheets.shift_jis_file())
    rows = [list(row) for row in sheets.SHIFT_JIS_ROWS]
    rows[0][7] = "３"                      # 子どもの人数: changed, but not announced
    service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows, "cp932"))

    household_id = first["rows"][0]["household_id"]
    service.suspend_household(organisation["id"], household_id)

    assert household_versions(database, household_id) == [
        ("household_enrolled", 1), ("household_suspended", 2),
    ]


# -- scoping by organisation -------------------------------------------------------------------

def test_another_organisations_household_is_not_found_exactly_like_an_unknown_one(
        service, organisation, other_organisation):
    household = service.enrol_household(organisation["id"], household_data())

    with pytest.raises(NotFound) as foreign:
        service.get_household(other_organisation["id"], household["id"])
    with pytest.raises(NotFound) as unknown:
        service.get_household(other_organisation["id"], UNKNOWN)

    assert foreign.value.code == unknown.value.code == "household_not_found"
    assert foreign.value.message.replace(household["id"], "?") == (
        unknown.value.message.replace(UNKNOWN, "?")
    )
    assert foreign.value.details == unknown.value.details
    for change in (service.suspend_household, service.withdraw_household):
        with pytest.raises(NotFound):
            change(other_organisation["id"], household["id"])
    assert service.list_households(other_organisation["id"]) == []
    assert service.get_household(organisation["id"], household["id"])["status"] == "active"


def test_households_are_listed_by_status(service, organisation):
    first = service.enrol_household(organisation["id"], household_data("H-001"))
    service.enrol_household(organisation["id"], household_data("H-002"))
    service.suspend_household(organisation["id"], first["id"])

    suspended = service.list_households(organisation["id"], status="suspended")

    assert [household["id"] for household in suspended] == [first["id"]]
    with pytest.raises(InvalidInput):
        service.list_households(organisation["id"], status="gone")


def test_households_of_an_unknown_organisation_are_not_found(service):
    with pytest.raises(NotFound) as raised:
        service.list_households(UNKNOWN)

    assert raised.value.code == "organisation_not_found"


# -- activation --------------------------------------------------------------------------------

def test_an_activation_code_works_once(service, organisation, database):
    household = service.enrol_household(organisation["id"], household_data())
    typed = household["activation_code"].replace("-", "").lower()

    activated = service.activate_app(typed)

    assert activated == {"household_id": household["id"], "region_id": REGION,
                         "organisation_id": organisation["id"]}
    [event] = database.outbox_events("household_activated")
    assert event["household_id"] == household["id"]
    with pytest.raises(NotFound) as raised:
        service.activate_app(household["activation_code"])
    assert raised.value.code == "activation_code_invalid"


def test_used_expired_replaced_withdrawn_and_unknown_codes_are_refused_alike(
        service, organisation, session):
    used = service.enrol_household(organisation["id"], household_data("H-001"))
    expired = service.enrol_household(organisation["id"], household_data("H-002"))
    replaced = service.enrol_household(organisation["id"], household_data("H-003"))
    withdrawn = service.enrol_household(organisation["id"], household_data("H-004"))
    service.withdraw_household(organisation["id"], withdrawn["id"])
    service.activate_app(used["activation_code"])
    session.execute(text("UPDATE activation_codes SET expires_at = now() - interval '1 second'"
                         " WHERE household_id = :id"), {"id": expired["id"]})
    session.commit()
    service.issue_activation_code(organisation["id"], replaced["id"])

    refusals = []
    for code in (used["activation_code"], expired["activation_code"],
                 replaced["activation_code"], withdrawn["activation_code"], "ABCD-EFGH-JK23",
                 "not a code"):
        with pytest.raises(NotFound) as raised:
            service.activate_app(code)
        refusals.append((raised.value.code, raised.value.message, raised.value.details))

    assert len(set(map(repr, refusals))) == 1
    assert refusals[0][0] == "activation_code_invalid"


def test_codes_are_kept_only_as_hashes(service, organisation, session):
    household = service.enrol_household(organisation["id"], household_data())
    code = household["activation_code"].replace("-", "")

    stored = session.execute(text("SELECT code_hash FROM activation_codes")).scalars().all()

    assert stored == [domain.activation_code_hash(code)]


def test_a_lost_card_is_blocked_and_replaced(service, organisation, database):
    household = service.enrol_household(organisation["id"], household_data(channel="card"))

    replaced = service.replace_card(organisation["id"], household["id"], "lost",
                                    f"organisation:{organisation['id']}")

    assert replaced["card_number"] != household["card_number"]
    assert domain.is_valid_card_number(replaced["card_number"])
    assert [event["card_number"] for event in database.outbox_events("card_blocked")] == [
        household["card_number"]
    ]
    with pytest.raises(Conflict) as raised:
        service.issue_activation_code(organisation["id"], household["id"])
    assert raised.value.code == "household_channel_mismatch"


# -- import ------------------------------------------------------------------------------------

def test_shift_jis_with_full_width_digits_and_bom_with_other_columns_give_the_same_households(
        service, organisation, other_organisation, sheets):
    from_shift_jis = service.import_households(organisation["id"], sheets.shift_jis_file())
    from_bom = service.import_households(other_organisation["id"], sheets.bom_file())

    assert from_shift_jis["summary"] == from_bom["summary"] == {
        "created": 3, "updated": 0, "unchanged": 0, "rejected": 0,
    }
    kept_from_shift_jis = [details(h) for h in service.list_households(organisation["id"])]
    kept_from_bom = [details(h) for h in service.list_households(other_organisation["id"])]
    assert kept_from_shift_jis == kept_from_bom
    assert kept_from_bom[1] == {
        "external_ref": "A-002", "guardian_name": "佐藤 太郎", "guardian_name_kana": "サトウ タロウ",
        "phone": "090-1234-5678", "email": "taro@example.jp", "postcode": None,
        "address": "星空区若葉4-5-6", "children": 3, "channel": "card", "language": "ja",
        "notify_by": "email",
    }


def test_the_other_export_of_the_same_households_changes_nothing(service, organisation, sheets):
    service.import_households(organisation["id"], sheets.shift_jis_file())

    again = service.import_households(organisation["id"], sheets.bom_file())

    assert again["summary"]["unchanged"] == 3


def test_imported_households_get_their_codes_and_cards(service, organisation, database, sheets):
    before = enrolled_counter("card")

    result = service.import_households(organisation["id"], sheets.shift_jis_file())

    app, card, english = result["rows"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", app["activation_code"])
    assert domain.is_valid_card_number(card["card_number"])
    assert service.activate_app(english["activation_code"])["household_id"] == (
        english["household_id"]
    )
    assert len(database.outbox_events("household_enrolled")) == 3
    assert enrolled_counter("card") == before + 1


def test_bad_lines_are_reported_by_line_number_while_good_ones_import(
        service, organisation, sheets):
    rows = [
        sheets.household_row("B-001"),
        sheets.household_row("B-002", 電話番号="03-12", 子どもの人数="０"),
        sheets.household_row("B-003"),
        sheets.household_row("B-004", **{"保護者氏名（フリガナ）": "Suzuki", "利用方法": "郵送"}),
        sheets.household_row("B-005", 電話番号="", メールアドレス=""),
        sheets.household_row("B-006"),
        sheets.household_row("Ｂ－００６", 住所="別の住所"),
    ]
    before = import_counter("rejected")

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    assert result["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 5}
    outcomes = {row["line"]: row for row in result["rows"]}
    assert [line for line, row in outcomes.items() if row["outcome"] == "created"] == [2, 4]
    assert set(outcomes[3]["errors"]) == {"phone", "children"}
    assert set(outcomes[5]["errors"]) == {"guardian_name_kana", "channel"}
    assert set(outcomes[6]["errors"]) == {"phone", "email"}
    # Which of two lines with the same 管理番号 is right is for the organisation to say.
    assert outcomes[7]["code"] == outcomes[8]["code"] == "duplicate_external_ref"
    assert "lines 7, 8" in outcomes[8]["errors"]["external_ref"][0]
    assert [h["external_ref"] for h in service.list_households(organisation["id"])] == [
        "B-001", "B-003",
    ]
    assert import_counter("rejected") == before + 5


def test_a_line_the_database_refuses_is_undone_whole(
        service, organisation, database, sheets, monkeypatch):
    rows = [sheets.household_row("F-001"), sheets.household_row("F-002"),
            sheets.household_row("F-003", 利用方法="アプリ")]
    # The second card drawn repeats the first: its household row was already written.
    monkeypatch.setattr(domain, "new_card_number", lambda: "4111111111111111")

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    assert [row["outcome"] for row in result["rows"]] == ["created", "rejected", "created"]
    assert result["rows"][1]["code"] == "row_not_saved"
    assert [h["external_ref"] for h in service.list_households(organisation["id"])] == [
        "F-001", "F-003",
    ]
    enrolled = database.outbox_events("household_enrolled")
    assert len(enrolled) == 2
    assert len(database.outbox_events("card_issued")) == 1


def test_the_cap_is_checked_line_by_line(service, sheets):
    organisation = service.create_organisation(organisation_data(household_cap=2))
    rows = [sheets.household_row(f"C-00{number}") for number in (1, 2, 3)]

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    assert [row["outcome"] for row in result["rows"]] == ["created", "created", "rejected"]
    refused = result["rows"][2]
    assert refused["code"] == "household_cap_reached"
    assert "cap is 2" in refused["errors"]["row"][0]


def test_changed_lines_update_their_household_and_publish_nothing(
        service, organisation, database, sheets):
    service.import_households(organisation["id"], sheets.shift_jis_file())
    events_before = database.outbox_events()
    rows = [list(row) for row in sheets.SHIFT_JIS_ROWS]
    rows[0][7] = "３"                      # 子どもの人数
    rows[2][4] = "maria.s@example.jp"      # メールアドレス

    result = service.import_households(organisation["id"],
                                       sheets.encoded(sheets.HEADER, rows, "cp932"))

    assert [row["outcome"] for row in result["rows"]] == ["updated", "unchanged", "updated"]
    assert result["rows"][0]["changed"] == ["children"]
    assert result["rows"][2]["changed"] == ["email"]
    assert database.outbox_events() == events_before


def test_a_changed_channel_swaps_the_code_for_a_card(service, organisation, database, sheets):
    service.import_households(organisation["id"], sheets.bom_file())
    rows = [list(row) for row in sheets.BOM_ROWS]
    rows[0][0] = "カード"

    result = service.import_households(organisation["id"],
                                       sheets.encoded(sheets.BOM_HEADER, rows))

    moved = result["rows"][0]
    assert moved["changed"] == ["channel"]
    assert domain.is_valid_card_number(moved["card_number"])
    assert [event["household_id"] for event in database.outbox_events("card_issued")][-1] == (
        moved["household_id"]
    )


def test_the_same_file_twice_writes_and_publishes_nothing_the_second_time(
        service, organisation, database, session, sheets):
    first = service.import_households(organisation["id"], sheets.shift_jis_file())
    events_before = database.outbox_events()
    stamps_before = session.execute(text("SELECT id, updated_at FROM households")).all()

    second = service.import_households(organisation["id"], sheets.shift_jis_file())

    assert second["summary"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert [row["household_id"] for row in second["rows"]] == [
        row["household_id"] for row in first["rows"]
    ]
    assert database.outbox_events() == events_before
    assert session.execute(text("SELECT id, updated_at FROM households")).all() == stamps_before


def test_a_dry_run_reports_the_same_outcomes_and_writes_nothing(
        service, organisation, database, sheets):
    rows = [sheets.household_row("D-001"), sheets.household_row("D-002", 電話番号="x")]
    file = sheets.encoded(sheets.HEADER, rows)

    rehearsal = service.import_households(organisation["id"], file, dry_run=True)

    assert rehearsal["dry_run"] is True
    assert [row["outcome"] for row in rehearsal["rows"]] == ["created", "rejected"]
    assert "card_number" not in rehearsal["rows"][0]
    assert "household_id" not in rehearsal["rows"][0]
    assert service.list_households(organisation["id"]) == []
    assert database.outbox_events() == []

    real = service.import_households(organisation["id"], file)

    assert real["summary"] == rehearsal["summary"]


def test_a_file_without_required_columns_fails_whole(service, organisation, sheets):
    header = [name for name in sheets.HEADER if name != "利用方法"]
    rows = [sheets.household_row("E-001")[:-2] + ["日本語"]]

    with pytest.raises(InvalidInput) as raised:
        service.import_households(organisation["id"], sheets.encoded(header, rows))

    assert raised.value.details["missing_columns"] == ["利用方法"]
    assert service.list_households(organisation["id"]) == []


# -- for other services ------------------------------------------------------------------------

def test_contacts_are_given_for_known_households_only(service, organisation):
    household = service.enrol_household(organisation["id"], household_data(language="en"))

    [contact] = service.get_contacts([household["id"], UNKNOWN])

    assert contact == {
        "household_id": household["id"], "status": "active", "channel": "app",
        "language": "en", "notify_by": "email", "email": "hanako@example.jp",
        "phone": "090-1234-5678",
        "organisation_id": organisation["id"], "organisation_name": organisation["name"],
        "organisation_email": organisation["contact_email"], "external_ref": "H-001",
    }


def test_household_counts_per_organisation_of_the_region(service, organisation,
                                                         other_organisation):
    service.enrol_household(organisation["id"], household_data("H-001"))
    card = service.enrol_household(organisation["id"], household_data("H-002", channel="card"))
    suspended = service.enrol_household(organisation["id"], household_data("H-003"))
    service.suspend_household(organisation["id"], suspended["id"])
    service.withdraw_household(organisation["id"], card["id"])

    counts = service.household_counts(REGION)

    assert counts[organisation["id"]] == {
        "name": organisation["name"], "cap": 20,
        "active": 1, "suspended": 1, "withdrawn": 1, "app": 1, "card": 0,
    }
    assert counts[other_organisation["id"]]["active"] == 0
    assert service.household_counts("other-ku") == {}


# -- personal data -----------------------------------------------------------------------------

def test_no_fact_carries_personal_data(service, organisation, database, sheets):
    app = service.enrol_household(organisation["id"], household_data("P-001"))
    card = service.enrol_household(organisation["id"], household_data("P-002", channel="card"))
    service.import_households(organisation["id"], sheets.shift_jis_file())
    service.activate_app(app["activation_code"])
    service.suspend_household(organisation["id"], app["id"])
    service.reinstate_household(organisation["id"], app["id"])
    service.replace_card(organisation["id"], card["id"], "lost",
                         f"organisation:{organisation['id']}")
    service.withdraw_household(organisation["id"], card["id"])
    personal = set()
    for household in service.list_households(organisation["id"]):
        personal |= {household[name] for name in ("guardian_name", "guardian_name_kana", "phone",
                                                   "email", "postcode", "address")}
    personal.discard(None)

    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT event_type, payload FROM outbox")).all()

    assert {row.event_type for row in rows} == set(FACT_KEYS)
    for row in rows:
        assert set(row.payload) == FACT_KEYS[row.event_type], row.event_type
        flat = json.dumps(row.payload, ensure_ascii=False)
        assert not [value for value in personal if value in flat]


def test_no_log_line_carries_personal_data(service, organisation, sheets, caplog):
    caplog.set_level(logging.DEBUG)
    app = service.enrol_household(organisation["id"], household_data("L-001"))
    service.import_households(organisation["id"], sheets.shift_jis_file(), dry_run=True)
    service.import_households(organisation["id"], sheets.shift_jis_file())
    service.activate_app(app["activation_code"])
    service.withdraw_household(organisation["id"], app["id"])
    card = service.enrol_household(organisation["id"], household_data("L-002", channel="card"))
    service.replace_card(organisation["id"], card["id"], "stolen",
                         f"organisation:{organisation['id']}")
    personal = {"山田", "ヤマダ", "佐藤", "サトウ", "Maria", "1234-5678", "example.jp", "星空区",
                "160-0022", app["activation_code"]}

    lines = [json.dumps(vars(record), ensure_ascii=False, default=str)
             for record in caplog.records]

    assert any("households imported" in line for line in lines)
    assert not [line for line in lines if any(value in line for value in personal)]


# -- how a family prefers to hear from us ------------------------------------------------------

def test_a_sheet_says_how_each_family_prefers_to_hear_and_contacts_pass_it_on(
        service, organisation, sheets):
    header = [*sheets.HEADER, "連絡手段"]
    rows = [[*row, word] for row, word in zip(sheets.SHIFT_JIS_ROWS, ("ＳＭＳ", "", "アプリ通知"))]

    report = service.import_households(organisation["id"], sheets.encoded(header, rows, "cp932"))

    assert report["summary"]["created"] == 3
    households = {h["external_ref"]: h for h in service.list_households(organisation["id"])}
    assert {ref: h["notify_by"] for ref, h in households.items()} == {
        "A-001": "sms", "A-002": "email", "A-003": "push"}
    contacts = service.get_contacts([households["A-001"]["id"]])
    assert [(c["notify_by"], c["phone"]) for c in contacts] == [("sms", "03-1234-5678")]


@pytest.mark.parametrize("overrides, reason", [
    ({"notify_by": "sms", "phone": None}, "SMS needs a phone number"),
    ({"notify_by": "push", "channel": "card"}, "app notifications need the app (利用方法 アプリ)"),
    ({"notify_by": "fax"}, "Must be one of: email, sms, push."),
])
def test_a_channel_that_cannot_reach_the_family_is_refused(service, organisation, overrides,
                                                           reason):
    with pytest.raises(InvalidInput) as raised:
        service.enrol_household(organisation["id"], household_data(**overrides))

    assert raised.value.details["fields"]["notify_by"] == [reason]
    assert service.list_households(organisation["id"]) == []
