"""Concerns kept for the referring organisation, and households that move to another one."""

import base64
import io
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from shokudo_common.errors import Conflict, InvalidInput, NotFound

from enrollment.models import AccessRecord

REGION = "hoshizora-ku"
RESTAURANT = "cccccccc-2222-4000-8000-000000000003"


def organisation_data(name, region_id=REGION, cap=20):
    return {"name": name, "region_id": region_id, "household_cap": cap,
            "contact_email": "office@example.jp", "contact_phone": "03-9876-5432"}


def household_data(external_ref="H-001"):
    return {
        "external_ref": external_ref, "guardian_name": "山田 花子",
        "guardian_name_kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": None,
        "postcode": "160-0022", "address": "星空区青葉1-2-3", "children": 2,
        "channel": "card", "language": "ja",
    }


@pytest.fixture
def aoba(service):
    return service.create_organisation(organisation_data("あおば子ども支援"))


@pytest.fixture
def hikari(service):
    return service.create_organisation(organisation_data("ひかり会"))


@pytest.fixture
def household(service, aoba):
    return service.enrol_household(aoba["id"], household_data())


def concern_fact(household, organisation_id=None, concern_id=None, note="元気がありませんでした"):
    return {
        "event_id": str(uuid.uuid4()),
        "concern_id": concern_id or str(uuid.uuid4()),
        "household_id": household["id"],
        "organisation_id": organisation_id or household["organisation_id"],
        "region_id": REGION, "restaurant_id": RESTAURANT, "restaurant_name": "みどり食堂",
        "redemption_id": str(uuid.uuid4()),
        "category": "mood", "note": note, "raised_at": "2026-03-10T12:00:00+09:00",
    }


# -- concerns -----------------------------------------------------------------------------------

def test_a_concern_reaches_the_referring_organisation_and_no_one_else(
        service, aoba, hikari, household, database):
    fact = concern_fact(household)

    service.on_concern_raised(fact)

    [concern] = service.list_concerns(aoba["id"])
    assert concern["concern_id"] == fact["concern_id"]
    assert (concern["household_id"], concern["external_ref"]) == (household["id"], "H-001")
    assert (concern["status"], concern["note"]) == ("open", "元気がありませんでした")
    assert service.list_concerns(hikari["id"]) == []
    with pytest.raises(NotFound):
        service.acknowledge_concern(hikari["id"], fact["concern_id"])

    [recorded] = database.outbox_events("concern_recorded")
    assert recorded["organisation_id"] == aoba["id"]
    assert recorded["household_id"] == household["id"]
    assert "note" not in recorded and "category" not in recorded


def test_the_organisation_reads_where_and_when_in_its_regions_local_time(
        service, aoba, household):
    fact = concern_fact(household)
    service.on_concern_raised(fact)
    [in_tokyo] = service.list_concerns(aoba["id"])

    service.on_program_updated({"event_id": str(uuid.uuid4()), "region_id": REGION,
                                "name": "星空区こども食堂", "time_zone": "Pacific/Honolulu",
                                "amount_yen": 3000})
    [in_honolulu] = service.list_concerns(aoba["id"])
    acknowledged = service.acknowledge_concern(aoba["id"], fact["concern_id"])

    assert in_tokyo["restaurant_name"] == "みどり食堂"
    # Not heard of the region's program yet: the programs' default zone, Asia/Tokyo.
    assert in_tokyo["raised_at"] == "2026-03-10T12:00:00+09:00"
    assert in_honolulu["raised_at"] == "2026-03-09T17:00:00-10:00"
    assert acknowledged["acknowledged_at"].endswith("-10:00")
    assert service.restaurant_concerns(RESTAURANT)[0]["raised_at"].endswith("-10:00")


def test_a_concern_fact_from_before_it_named_the_restaurant_is_kept_without_the_name(
        service, aoba, household):
    fact = concern_fact(household)
    del fact["restaurant_name"]

    service.on_concern_raised(fact)

    [concern] = service.list_concerns(aoba["id"])
    assert concern["restaurant_name"] is None and concern["restaurant_id"] == RESTAURANT


def test_a_concern_delivered_twice_is_kept_and_announced_once(service, aoba, household, database):
    fact = concern_fact(household)

    service.on_concern_raised(fact)
    service.on_concern_raised(dict(fact, event_id=str(uuid.uuid4())))

    assert len(service.list_concerns(aoba["id"])) == 1
    assert len(database.outbox_events("concern_recorded")) == 1


def test_a_concern_follows_the_household_to_the_organisation_it_belongs_to_now(
        service, aoba, hikari, household):
    service.move_household(aoba["id"], household["id"], hikari["id"])

    # Redemption had not heard of the move yet and named the old organisation.
    service.on_concern_raised(concern_fact(household, organisation_id=aoba["id"]))

    assert service.list_concerns(aoba["id"]) == []
    assert len(service.list_concerns(hikari["id"])) == 1


def test_an_organisation_acknowledges_then_closes_a_concern_and_cannot_reopen_it(
        service, aoba, household):
    fact = concern_fact(household)
    service.on_concern_raised(fact)

    seen = service.acknowledge_concern(aoba["id"], fact["concern_id"])
    again = service.acknowledge_concern(aoba["id"], fact["concern_id"])
    closed = service.close_concern(aoba["id"], fact["concern_id"])

    assert seen["status"] == "acknowledged" and seen["acknowledged_at"]
    assert again["acknowledged_at"] == seen["acknowledged_at"]
    assert closed["status"] == "closed" and closed["closed_at"]
    with pytest.raises(Conflict) as refused:
        service.acknowledge_concern(aoba["id"], fact["concern_id"])
    assert refused.value.code == "concern_closed"
    assert [c["status"] for c in service.list_concerns(aoba["id"], status="closed")] == ["closed"]
    assert service.list_concerns(aoba["id"], status="open") == []


def test_the_restaurant_sees_the_status_of_what_it_raised_and_nothing_of_the_household(
        service, aoba, household):
    fact = concern_fact(household)
    service.on_concern_raised(fact)
    service.acknowledge_concern(aoba["id"], fact["concern_id"])

    [concern] = service.restaurant_concerns(RESTAURANT)

    assert set(concern) == {"concern_id", "redemption_id", "category", "category_label",
                            "status", "raised_at"}
    assert concern["category_label"] == {"ja": "気分・様子", "en": "Mood"}
    assert concern["status"] == "acknowledged"
    assert service.restaurant_concerns(str(uuid.uuid4())) == []


def test_a_concern_about_an_unknown_household_is_not_kept_but_parked(
        service, aoba, database, monkeypatch):
    monkeypatch.setattr("shokudo_common.handlers.FIRST_PAUSE_SECONDS", 0)
    unknown = {"id": str(uuid.uuid4()), "organisation_id": aoba["id"]}

    service.on_concern_raised(concern_fact(unknown))

    assert service.list_concerns(aoba["id"]) == []
    assert database.outbox_events("concern_recorded") == []
    with database.engine.connect() as connection:
        [consumer] = connection.execute(text("SELECT consumer FROM parked_messages")).scalars()
    assert consumer == "enrollment.on_concern_raised"


# -- moves ----------------------------------------------------------------------------------------

def test_a_moved_household_is_the_new_organisations_and_its_fact_reaches_the_counter(
        service, aoba, hikari, household, counter, database):
    moved = service.move_household(aoba["id"], household["id"], hikari["id"])

    assert moved["organisation_id"] == hikari["id"]
    assert moved["card_number"] == household["card_number"]
    assert moved["in_force_at_counter"] is True
    with pytest.raises(NotFound):
        service.get_household(aoba["id"], household["id"])
    assert service.get_household(hikari["id"], household["id"])["external_ref"] == "H-001"

    [fact] = database.outbox_events("household_moved")
    assert (fact["organisation_id"], fact["from_organisation_id"]) == (hikari["id"], aoba["id"])
    assert fact["version"] == 2 and fact["status"] == "active"
    assert counter.pushed[-1][0] == "household_move"
    assert counter.pushed[-1][1]["version"] == 2


def test_a_move_is_refused_when_the_new_organisation_is_full(service, aoba, household):
    full = service.create_organisation(organisation_data("満員会", cap=1))
    service.enrol_household(full["id"], household_data("F-001"))

    with pytest.raises(Conflict) as refused:
        service.move_household(aoba["id"], household["id"], full["id"])

    assert refused.value.code == "household_cap_reached"
    assert service.get_household(aoba["id"], household["id"])["organisation_id"] == aoba["id"]


def test_a_move_stays_in_the_region_and_goes_somewhere_else(service, aoba, household):
    elsewhere = service.create_organisation(organisation_data("海辺の会", region_id="umibe-shi"))

    with pytest.raises(Conflict) as other_region:
        service.move_household(aoba["id"], household["id"], elsewhere["id"])
    with pytest.raises(Conflict) as same_place:
        service.move_household(aoba["id"], household["id"], aoba["id"])
    with pytest.raises(InvalidInput):
        service.move_household(aoba["id"], household["id"], str(uuid.uuid4()))

    assert other_region.value.code == "organisation_other_region"
    assert same_place.value.code == "household_already_there"


def test_a_move_keeps_the_reference_unless_the_new_organisation_uses_it(
        service, aoba, hikari, household):
    service.enrol_household(hikari["id"], household_data("H-001"))

    with pytest.raises(Conflict) as refused:
        service.move_household(aoba["id"], household["id"], hikari["id"])

    assert refused.value.code == "external_ref_taken"


def test_only_the_current_organisation_can_move_its_household(service, aoba, hikari, household):
    with pytest.raises(NotFound):
        service.move_household(hikari["id"], household["id"], aoba["id"])


def test_a_move_sent_again_with_its_key_moves_once(service, aoba, hikari, household, database):
    first = service.move_household(aoba["id"], household["id"], hikari["id"],
                                   idempotency_key="organisation:x:move-1")
    again = service.move_household(aoba["id"], household["id"], hikari["id"],
                                   idempotency_key="organisation:x:move-1")

    assert again["organisation_id"] == first["organisation_id"] == hikari["id"]
    assert len(database.outbox_events("household_moved")) == 1


# -- the access trail -------------------------------------------------------------------------

def trail(session, action):
    session.expire_all()
    query = select(AccessRecord).where(AccessRecord.action == action)
    return session.scalars(query.order_by(AccessRecord.id)).all()


def test_a_move_and_the_concerns_shown_leave_their_records_under_the_organisation_concerned(
        service, aoba, hikari, household, session):
    fact = concern_fact(household)
    service.on_concern_raised(fact)
    staff = {"actor": f"organisation:{aoba['id']}", "purpose": "concern_review", "reason": None}

    service.list_concerns(aoba["id"], accessor=staff)
    service.acknowledge_concern(aoba["id"], fact["concern_id"], accessor=staff)
    service.move_household(aoba["id"], household["id"], hikari["id"],
                           accessor=dict(staff, purpose="household_move"))

    [listed] = trail(session, "concern.list")
    assert (listed.organisation_id, listed.household_ids) == (aoba["id"], [household["id"]])
    assert listed.fields == ["concern_note", "external_ref"]
    [acknowledged] = trail(session, "concern.acknowledge")
    assert acknowledged.purpose == "concern_review"
    [moved] = trail(session, "household.move")
    assert (moved.organisation_id, moved.purpose, moved.fields) == (
        hikari["id"], "household_move", ["organisation_id"])


def test_a_moved_households_concerns_go_with_it_to_the_new_organisation(
        service, aoba, hikari, household):
    open_one, seen_one = concern_fact(household), concern_fact(household)
    service.on_concern_raised(open_one)
    service.on_concern_raised(seen_one)
    service.acknowledge_concern(aoba["id"], seen_one["concern_id"])

    service.move_household(aoba["id"], household["id"], hikari["id"])

    assert service.list_concerns(aoba["id"]) == []
    for move_on in (service.acknowledge_concern, service.close_concern):
        with pytest.raises(NotFound):
            move_on(aoba["id"], open_one["concern_id"])
    kept = {c["concern_id"]: c["status"] for c in service.list_concerns(hikari["id"])}
    assert kept == {open_one["concern_id"]: "open", seen_one["concern_id"]: "acknowledged"}
    assert service.close_concern(hikari["id"], open_one["concern_id"])["status"] == "closed"


def test_a_move_says_the_card_must_be_printed_again_and_the_new_sheet_names_the_new_office(
        service, aoba, hikari, household):
    moved = service.move_household(aoba["id"], household["id"], hikari["id"])
    app_household = service.enrol_household(aoba["id"], dict(household_data("H-002"),
                                                             channel="app"))
    app_moved = service.move_household(aoba["id"], app_household["id"], hikari["id"])

    assert moved["card_reprint_needed"] is True
    assert app_moved["card_reprint_needed"] is False
    sheet = service.card_sheet(hikari["id"], household["id"])
    text = "".join(page.extract_text() for page in PdfReader(
        io.BytesIO(base64.b64decode(sheet["pdf_base64"]))).pages)
    assert "ひかり会" in text and "あおば子ども支援" not in text


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_old_organisations_sheet_imported_after_a_move_does_not_enrol_the_family_again(
        service, aoba, hikari, sheets, database, dry_run):
    [line] = service.import_households(
        aoba["id"], sheets.encoded(sheets.HEADER, [sheets.household_row("M-001")]))["rows"]
    service.move_household(aoba["id"], line["household_id"], hikari["id"])
    enrolled_before = len(database.outbox_events("household_enrolled"))
    old_sheet = sheets.encoded(sheets.HEADER, [sheets.household_row("M-001"),
                                               sheets.household_row("M-002")])

    result = service.import_households(aoba["id"], old_sheet, dry_run=dry_run)

    moved, new = result["rows"]
    assert (moved["outcome"], moved["code"]) == ("rejected", "household_moved")
    [reason] = moved["reasons"]
    assert reason["column"] is None and "M-001" in reason["ja"] and "他の団体" in reason["ja"]
    assert "moved to another organisation" in reason["en"]
    assert new["outcome"] == "created"
    assert result["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    enrolled_now = 0 if dry_run else 1
    assert len(database.outbox_events("household_enrolled")) == enrolled_before + enrolled_now
    assert [h["external_ref"] for h in service.list_households(hikari["id"])] == ["M-001"]


def test_a_household_that_moves_back_is_found_again_by_its_reference(
        service, aoba, hikari, sheets):
    sheet = sheets.encoded(sheets.HEADER, [sheets.household_row("B-001")])
    [line] = service.import_households(aoba["id"], sheet)["rows"]
    service.move_household(aoba["id"], line["household_id"], hikari["id"])
    service.move_household(hikari["id"], line["household_id"], aoba["id"])

    [again] = service.import_households(aoba["id"], sheet)["rows"]

    assert (again["outcome"], again["household_id"]) == ("unchanged", line["household_id"])
