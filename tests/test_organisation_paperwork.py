"""An organisation's paperwork through the gateway, every service a process: a spreadsheet in
and out again, an app letter whose QR code starts the app, a lost card blocked at the counter at
once and a new card printed."""

import io

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from support import current_period, rows, wait_until

REGION = "paper-ku"
RESTAURANT = {
    "name": "かみ食堂", "name_kana": "カミショクドウ", "address": "紙区5-5-5", "area": "中央",
    "latitude": 35.61, "longitude": 139.71, "phone": "03-2222-4444",
    "opening_hours": {day: [{"opens": "00:00", "closes": "00:00"}]
                      for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
HEADERS = "管理番号,保護者氏名,保護者氏名（フリガナ）,電話番号,メールアドレス,郵便番号,住所,子どもの人数,利用方法,言語"
LINES = [
    "P-001,山田 花子,ヤマダ ハナコ,０９０－１１１１－２２２２,,１２３－４５６７,紙区1-1-1,２,アプリ,日本語",
    "P-002,佐藤 健,サトウ ケン,090-3333-4444,,123-4568,紙区2-2-2,1,カード,日本語",
    "P-003,鈴木 一郎,スズキ イチロウ,03-12,,,紙区3-3-3,1,カード,日本語",
]


@pytest.fixture(scope="module")
def organisation(operator, staff):
    operator.put(f"/v1/regions/{REGION}/program", {"name": "紙区こども食堂"})
    created = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "かみのき会", "household_cap": 10, "contact_email": "kaminoki@example.org",
        "contact_phone": "03-0000-0009",
    })
    organisation_staff = staff("organisation", organisation_id=created["id"])
    return {"id": created["id"], "staff": organisation_staff,
            "path": f"/v1/organisations/{created['id']}"}


@pytest.fixture(scope="module")
def imported(organisation):
    csv_bytes = "\r\n".join([HEADERS, *LINES]).encode("cp932") + b"\r\n"
    report = organisation["staff"].post(
        f"{organisation['path']}/households/import", data=csv_bytes,
        headers={"Content-Type": "text/csv"},
    )
    return {row["external_ref"]: row for row in report["rows"]} | {"summary": report["summary"]}


def read_pdf(content):
    """(text, QR contents) of each page, as a reader with a scanner would have them."""
    pages = []
    for page in pypdfium2.PdfDocument(content):
        image = page.render(scale=3).to_pil()
        pages.append((page.get_textpage().get_text_range(),
                      [barcode.text for barcode in zxingcpp.read_barcodes(image)]))
    return pages


def assert_a4(content):
    """Every page is A4 portrait, as the office's printer takes it."""
    for page in PdfReader(io.BytesIO(content)).pages:
        box = page.mediabox
        assert (round(float(box.width), 1), round(float(box.height), 1)) == (
            round(A4[0], 1), round(A4[1], 1))


def test_the_export_imports_again_as_unchanged(organisation, imported):
    staff = organisation["staff"]
    assert imported["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert imported["P-003"]["reasons"][0]["column"] == "電話番号"

    exported = staff.request("GET", f"{organisation['path']}/households.csv")
    again = staff.post(f"{organisation['path']}/households/import", data=exported.content,
                       headers={"Content-Type": "text/csv"})

    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.content.startswith("\ufeff管理番号".encode())
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_an_app_letters_qr_code_starts_the_app(gateway, organisation, imported):
    household_id = imported["P-001"]["household_id"]

    letter = organisation["staff"].request(
        "POST", f"{organisation['path']}/households/{household_id}/app-letter")

    assert letter.headers["Content-Type"] == "application/pdf"
    assert_a4(letter.content)
    [(text, [code])] = read_pdf(letter.content)
    assert "山田 花子 様" in text
    activated = gateway.post("/v1/app/activate", {"activation_code": code})
    assert activated["household_id"] == household_id


def test_a_lost_card_is_refused_at_once_and_the_new_one_is_printed(
        stack, organisation, imported):
    staff, path = organisation["staff"], organisation["path"]
    household_id = imported["P-002"]["household_id"]
    lost = imported["P-002"]["card_number"]

    blocked = staff.post(f"{path}/households/{household_id}/card/block", {"reason": "lost"})

    assert blocked["in_force_at_counter"] is True
    assert rows(stack, "redemption", "SELECT status FROM cards WHERE card_number = :number",
                number=lost) == [{"status": "blocked"}]

    issued = staff.post(f"{path}/households/{household_id}/card")
    sheet = staff.request("GET", f"{path}/cards.pdf", params={"household_id": household_id})

    [(text, codes)] = read_pdf(sheet.content)
    assert_a4(sheet.content)
    assert codes == [issued["card_number"]] and lost not in codes
    assert "ドコデモこども食堂" in text and "かみのき会" in text
    wait_until(lambda: rows(stack, "redemption",
                            "SELECT status FROM cards WHERE card_number = :number",
                            number=issued["card_number"]) == [{"status": "active"}],
               what="the new card reaching the counter")


def test_a_replacement_card_pays_with_the_balance_carried_over_and_the_old_one_is_refused(
        operator, staff, organisation):
    path = organisation["path"]
    household = organisation["staff"].post(f"{path}/households", {
        "external_ref": "P-010", "guardian_name": "高橋 実", "guardian_name_kana": "タカハシ ミノル",
        "phone": "090-5555-1010", "address": "紙区10-10-10", "children": 1,
        "channel": "card", "language": "ja"})
    restaurant = organisation["staff"].post(f"{path}/restaurants", RESTAURANT)
    operator.post(f"/v1/restaurants/{restaurant['id']}/approve")
    period, _ = current_period()
    operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": str(period)})
    counter = staff("restaurant", restaurant_id=restaurant["id"])

    def bill(card_number, bill_yen):
        return counter.post(f"/v1/restaurants/{restaurant['id']}/redemptions",
                            {"bill_yen": bill_yen, "card_number": card_number})

    def applied_with_first_card():
        answer = bill(household["card_number"], 700)
        return answer if answer["outcome"] == "applied" else None

    first = wait_until(applied_with_first_card, what="the card's ticket usable at the counter")

    replaced = organisation["staff"].post(
        f"{path}/households/{household['id']}/card/replace", {"reason": "lost"})
    later = bill(replaced["card_number"], 500)
    refused = bill(household["card_number"], 100)

    assert replaced["in_force_at_counter"] is True
    assert replaced["card_number"] != household["card_number"]
    assert later["outcome"] == "applied"
    assert later["balance_yen"] == first["balance_yen"] - 500
    assert (refused["outcome"], refused["reason"]) == ("declined", "unknown_card_or_token")
