"""An organisation's paperwork: the export, cards issued and blocked, card sheets, app letters.

The PDFs are checked as a reader would see them: pages rendered with pypdfium2, QR codes read
back with zxing-cpp, text taken from the page.
"""

import base64
import codecs
import csv
import io

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from sqlalchemy import select

from shokudo_common.errors import Conflict, InvalidInput, NotFound

from enrollment import domain, spreadsheet
from enrollment.models import Card

REGION = "hoshizora-ku"
# Words that would tell whoever sees the card that the family is poor or being helped.
MARKING_WORDS = ("支援", "困窮", "無料", "生活保護", "貧困", "福祉", "援助", "免除")


def organisation_data(**overrides):
    # A name without any marking word, so the card's own wording is what the test looks at.
    return {"name": "あおばネットワーク", "region_id": REGION,
            "contact_email": "office@aoba.example.jp", "contact_phone": "03-9876-5432",
            **overrides}


def household_data(external_ref, channel="card", **overrides):
    return {
        "external_ref": external_ref, "guardian_name": "山田 花子",
        "guardian_name_kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": None,
        "postcode": "160-0022", "address": "星空区青葉1-2-3", "children": 2,
        "channel": channel, "language": "ja", **overrides,
    }


@pytest.fixture
def organisation(service):
    return service.create_organisation(organisation_data())


def enrol(service, organisation, external_ref, channel="card", **overrides):
    return service.enrol_household(organisation["id"],
                                   household_data(external_ref, channel, **overrides))


def staff(organisation):
    return f"organisation:{organisation['id']}"


def pdf_pages(pdf_base64):
    """(text, QR contents) of each page of the PDF, as a person with a scanner would read it."""
    document = pypdfium2.PdfDocument(base64.b64decode(pdf_base64))
    pages = []
    for page in document:
        text = page.get_textpage().get_text_range()
        image = page.render(scale=3).to_pil()
        pages.append((text, [barcode.text for barcode in zxingcpp.read_barcodes(image)]))
    return pages


# -- the export --------------------------------------------------------------------------------

def test_the_export_opens_in_excel_with_the_imports_headers(service, organisation, sheets):
    service.import_households(organisation["id"], sheets.shift_jis_file())

    exported = service.export_households(organisation["id"])

    raw = exported.encode("utf-8")
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw.count(b"\r\n") == 4 and raw.count(b"\n") == 4
    header, *rows = csv.reader(io.StringIO(exported.removeprefix("\ufeff"), newline=""))
    assert header == [spreadsheet.label(name) for name in spreadsheet.HEADERS] + ["状態"]
    assert rows[1] == ["A-002", "佐藤 太郎", "サトウ タロウ", "090-1234-5678", "taro@example.jp", "",
                       "星空区若葉4-5-6", "3", "カード", "日本語", "メール", "利用中"]
    assert rows[2][9] == "英語"


def test_the_export_imports_again_as_all_unchanged_without_any_event(
        service, organisation, sheets, database):
    service.import_households(organisation["id"], sheets.bom_file())
    household = service.list_households(organisation["id"])[0]
    service.suspend_household(organisation["id"], household["id"])
    events_before = database.outbox_events()

    exported = service.export_households(organisation["id"])
    again = service.import_households(organisation["id"],
                                      base64.b64encode(exported.encode("utf-8")).decode())

    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert database.outbox_events() == events_before


def test_a_cell_excel_would_take_for_a_formula_stays_text_and_still_round_trips(
        service, organisation, database):
    enrol(service, organisation, "=1+1", guardian_name="@山田")

    exported = service.export_households(organisation["id"])
    again = service.import_households(organisation["id"],
                                      base64.b64encode(exported.encode("utf-8")).decode())

    [_, row] = csv.reader(io.StringIO(exported.removeprefix("\ufeff"), newline=""))
    assert row[:2] == ["'=1+1", "'@山田"]
    assert again["summary"]["unchanged"] == 1


def test_a_numeric_reference_and_a_phone_typed_as_digits_round_trip_through_excel_as_typed(
        service, organisation, sheets):
    sheet = sheets.encoded(sheets.HEADER, [sheets.household_row("001", 電話番号="09012345678"),
                                           sheets.household_row("12345678901234567890")])
    created = service.import_households(organisation["id"], sheet)
    assert created["summary"]["created"] == 2

    exported = service.export_households(organisation["id"])
    again = service.import_households(organisation["id"],
                                      base64.b64encode(exported.encode("utf-8")).decode())

    rows = {row[0]: row for row in csv.reader(
        io.StringIO(exported.removeprefix("\ufeff"), newline=""))}
    # ="001" is text to Excel, which shows it as 001; the phone is grouped, so Excel never
    # takes it for a number.
    assert rows['="001"'][3] == "090-1234-5678"
    assert '="12345678901234567890"' in rows
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    # Excel saving the sheet again as CSV writes the formulas' values: still the same households.
    resaved = exported.replace('"=""001"""', "001").replace(
        '"=""12345678901234567890"""', "12345678901234567890")
    assert '=""' not in resaved
    third = service.import_households(organisation["id"],
                                      base64.b64encode(resaved.encode("utf-8")).decode())
    assert third["summary"]["unchanged"] == 2
    assert [h["external_ref"] for h in service.list_households(organisation["id"])] == [
        "001", "12345678901234567890"]


@pytest.mark.parametrize("text, written", [
    ("001", '="001"'), ("1-2", '="1-2"'), ("2026/3/1", '="2026/3/1"'), ("1E5", '="1E5"'),
    ("12:30", '="12:30"'), ("A-001", "A-001"), ("160-0022", "160-0022"),
    ("03-1234-5678", "03-1234-5678"), ("=SUM(A1)", "'=SUM(A1)"),
])
def test_text_excel_would_turn_into_a_number_or_date_is_written_as_text(text, written):
    assert spreadsheet.guard(text) == written
    assert spreadsheet.unguard(written) == text


def test_the_export_can_be_limited_to_a_status(service, organisation):
    enrol(service, organisation, "S-001")
    withdrawn = enrol(service, organisation, "S-002")
    service.withdraw_household(organisation["id"], withdrawn["id"])

    exported = service.export_households(organisation["id"], status="active")

    assert "S-001" in exported and "S-002" not in exported
    with pytest.raises(InvalidInput):
        service.export_households(organisation["id"], status="gone")


# -- issuing and blocking cards ----------------------------------------------------------------

def test_a_household_leaving_the_app_gets_a_card_and_its_code_stops_working(
        service, organisation, database):
    household = enrol(service, organisation, "C-001", channel="app")

    answer = service.issue_card(organisation["id"], household["id"])

    assert answer["channel"] == "card"
    assert domain.is_valid_card_number(answer["card_number"])
    [issued] = database.outbox_events("card_issued")
    assert (issued["household_id"], issued["card_number"]) == (household["id"],
                                                                answer["card_number"])
    with pytest.raises(NotFound):
        service.activate_app(household["activation_code"])


def test_a_household_with_a_card_in_use_is_told_to_replace_it(service, organisation):
    household = enrol(service, organisation, "C-002")

    with pytest.raises(Conflict) as raised:
        service.issue_card(organisation["id"], household["id"])

    assert raised.value.code == "card_in_use"


def test_a_lost_card_is_blocked_at_the_counter_at_once_and_a_new_one_issued_later(
        service, organisation, database, session, counter):
    household = enrol(service, organisation, "C-003")

    blocked = service.block_card(organisation["id"], household["id"], "lost", staff(organisation))

    assert blocked["in_force_at_counter"] is True
    assert blocked["card_number"] is None
    assert blocked["blocked_card_number"] == household["card_number"]
    [(change, fact)] = counter.pushed
    assert (change, fact["card_number"], fact["household_id"]) == (
        "card_block", household["card_number"], household["id"])
    card = session.scalars(select(Card).where(Card.card_number == household["card_number"])).one()
    assert (card.status, card.block_reason, card.blocked_by) == ("blocked", "lost",
                                                                  staff(organisation))
    assert [event["card_number"] for event in database.outbox_events("card_blocked")] == [
        household["card_number"]]

    again = service.issue_card(organisation["id"], household["id"])

    assert again["card_number"] not in (None, household["card_number"])
    assert service.get_household(organisation["id"], household["id"])["card_number"] == (
        again["card_number"])


def test_a_block_redemption_did_not_answer_stands_and_says_so(service, organisation, counter):
    household = enrol(service, organisation, "C-004")
    counter.answers = False

    blocked = service.block_card(organisation["id"], household["id"], "stolen",
                                 staff(organisation))

    assert blocked["in_force_at_counter"] is False
    assert service.get_household(organisation["id"], household["id"])["card_number"] is None


@pytest.mark.parametrize("reason, code", [("misplaced", InvalidInput), ("lost", Conflict)])
def test_only_a_card_in_use_is_blocked_and_for_a_known_reason(service, organisation, reason,
                                                              code):
    app_household = enrol(service, organisation, "C-005", channel="app")

    with pytest.raises(code):
        service.block_card(organisation["id"], app_household["id"], reason, staff(organisation))


def test_a_card_blocked_twice_is_not_found_the_second_time(service, organisation):
    household = enrol(service, organisation, "C-006")
    service.block_card(organisation["id"], household["id"], "lost", staff(organisation))

    with pytest.raises(Conflict) as raised:
        service.block_card(organisation["id"], household["id"], "lost", staff(organisation))

    assert raised.value.code == "card_not_found"


def test_a_block_sent_again_with_its_key_gets_the_first_answer(service, organisation, counter):
    household = enrol(service, organisation, "C-007")
    arguments = (organisation["id"], household["id"], "lost", staff(organisation))

    first = service.block_card(*arguments, idempotency_key="block-1")
    second = service.block_card(*arguments, idempotency_key="block-1")

    assert second == first
    assert service.get_household(organisation["id"], household["id"])["card_number"] is None
    # The block is pushed to the counter again, in case the first push did not get through.
    assert [change for change, *_ in counter.pushed] == ["card_block", "card_block"]
    assert counter.pushed[0] == counter.pushed[1]


def test_another_organisations_household_is_not_found(service, organisation):
    other = service.create_organisation(organisation_data(name="ひかり会"))
    household = enrol(service, other, "C-008")

    for call in (lambda: service.issue_card(organisation["id"], household["id"]),
                 lambda: service.block_card(organisation["id"], household["id"], "lost", "x"),
                 lambda: service.card_sheet(organisation["id"], household["id"]),
                 lambda: service.app_letter(organisation["id"], household["id"])):
        with pytest.raises(NotFound):
            call()


# -- card sheets -------------------------------------------------------------------------------

def test_a_card_sheet_has_each_active_cards_qr_code_and_number_and_whom_to_call(
        service, organisation):
    cards = [enrol(service, organisation, f"K-00{n}")["card_number"] for n in range(1, 4)]
    suspended = enrol(service, organisation, "K-004")
    service.suspend_household(organisation["id"], suspended["id"])
    enrol(service, organisation, "K-005", channel="app")

    sheet = service.card_sheet(organisation["id"])

    assert sheet["cards"] == 3
    [(text, codes)] = pdf_pages(sheet["pdf_base64"])
    assert sorted(codes) == sorted(cards)
    for number in cards:
        assert domain.format_card_number(number) in text
    assert "ドコデモこども食堂" in text
    assert "あおばネットワーク" in text and "03-9876-5432" in text
    assert "管理番号 K-001" in text
    assert suspended["card_number"] not in codes


def assert_a4(pdf_base64):
    """Every page is A4 portrait, as the office's printer takes it."""
    pages = PdfReader(io.BytesIO(base64.b64decode(pdf_base64))).pages
    assert pages
    for page in pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == (round(A4[0], 1), round(A4[1], 1))


def test_card_sheets_and_app_letters_are_printed_on_a4(service, organisation):
    for number in range(1, 10):
        enrol(service, organisation, f"A4-{number:03}")
    app = enrol(service, organisation, "A4-APP", channel="app")

    assert_a4(service.card_sheet(organisation["id"])["pdf_base64"])
    assert_a4(service.app_letter(organisation["id"], app["id"])["pdf_base64"])


def test_nothing_on_a_card_sheet_marks_the_child_as_poor(service, organisation):
    enrol(service, organisation, "M-001")

    [(text, _)] = pdf_pages(service.card_sheet(organisation["id"])["pdf_base64"])

    assert [word for word in MARKING_WORDS if word in text] == []
    # Nor anything about the household but its organisation's reference number.
    assert "山田" not in text and "星空区" not in text and "090-1234-5678" not in text


def test_a_card_sheet_puts_eight_cards_on_a_page(service, organisation):
    for number in range(1, 10):
        enrol(service, organisation, f"P-{number:03}")

    pages = pdf_pages(service.card_sheet(organisation["id"])["pdf_base64"])

    assert [len(codes) for _, codes in pages] == [8, 1]


def test_an_organisation_without_cards_to_print_is_told_so_not_given_a_blank_page(
        service, organisation):
    enrol(service, organisation, "E-001", channel="app")

    with pytest.raises(Conflict) as raised:
        service.card_sheet(organisation["id"])

    assert raised.value.code == "no_cards_to_print"


def test_one_households_card_can_be_printed_alone(service, organisation):
    wanted = enrol(service, organisation, "O-001")
    enrol(service, organisation, "O-002")

    sheet = service.card_sheet(organisation["id"], wanted["id"])

    [(_, codes)] = pdf_pages(sheet["pdf_base64"])
    assert codes == [wanted["card_number"]]


def test_a_card_is_printed_only_for_an_active_household_with_a_card_in_use(
        service, organisation):
    suspended = enrol(service, organisation, "Q-001")
    service.suspend_household(organisation["id"], suspended["id"])
    blocked = enrol(service, organisation, "Q-002")
    service.block_card(organisation["id"], blocked["id"], "lost", staff(organisation))
    app = enrol(service, organisation, "Q-003", channel="app")

    refusals = []
    for household in (suspended, blocked, app):
        with pytest.raises(Conflict) as raised:
            service.card_sheet(organisation["id"], household["id"])
        refusals.append(raised.value.code)

    assert refusals == ["household_not_active", "card_not_found", "household_channel_mismatch"]


# -- app letters -------------------------------------------------------------------------------

def test_an_app_letter_carries_a_fresh_code_whose_qr_activates_the_app(
        service, organisation):
    household = enrol(service, organisation, "L-001", channel="app", guardian_name="Maria Santos")

    letter = service.app_letter(organisation["id"], household["id"])

    assert "activation_code" not in letter
    [(text, [code])] = pdf_pages(letter["pdf_base64"])
    assert code in text
    assert "Maria Santos 様" in text and "Dear Maria Santos," in text
    assert "アプリの始め方" in text and "How to start" in text
    assert "あおばネットワーク" in text and "03-9876-5432" in text
    activated = service.activate_app(code)
    assert activated["household_id"] == household["id"]


def test_a_new_letter_voids_the_code_of_the_one_before(service, organisation):
    household = enrol(service, organisation, "L-002", channel="app")
    letter = service.app_letter(organisation["id"], household["id"])
    [(_, [first])] = pdf_pages(letter["pdf_base64"])

    service.app_letter(organisation["id"], household["id"])

    for earlier in (household["activation_code"], first):
        with pytest.raises(NotFound):
            service.activate_app(earlier)


def test_a_card_household_gets_no_app_letter(service, organisation):
    household = enrol(service, organisation, "L-003")

    with pytest.raises(Conflict) as raised:
        service.app_letter(organisation["id"], household["id"])

    assert raised.value.code == "household_channel_mismatch"


def test_no_log_line_carries_the_code_or_the_name(service, organisation, caplog):
    household = enrol(service, organisation, "L-004", channel="app")

    with caplog.at_level("DEBUG"):
        letter = service.app_letter(organisation["id"], household["id"])

    [(_, [code])] = pdf_pages(letter["pdf_base64"])
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert code not in logged and "山田" not in logged
