"""The import's row-by-row report: reasons per column in Japanese and English, the cap, and a
dry run that says exactly what the real run then does."""

import re

REGION = "hoshizora-ku"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def organisation_data(**overrides):
    return {"name": "あおばネットワーク", "region_id": REGION,
            "contact_email": "office@aoba.example.jp", "contact_phone": "03-9876-5432",
            **overrides}


def test_phone_numbers_and_postcodes_in_any_width_and_dash_are_normalised(service, sheets):
    organisation = service.create_organisation(organisation_data())
    rows = [
        sheets.household_row("N-001", 電話番号="０３‐５５５５‐０００１", 郵便番号="〒１６０‐０００１"),
        sheets.household_row("N-002", 電話番号="090－1234－5678", 郵便番号="１６０ー０００２"),
        sheets.household_row("N-003", 電話番号="０８０―１２３４―５６７８", 郵便番号="1600003"),
    ]

    result = service.import_households(organisation["id"],
                                       sheets.encoded(sheets.HEADER, rows, "cp932"))

    assert result["summary"]["created"] == 3
    kept = service.list_households(organisation["id"])
    assert [(h["phone"], h["postcode"]) for h in kept] == [
        ("03-5555-0001", "160-0001"), ("090-1234-5678", "160-0002"),
        ("080-1234-5678", "160-0003"),
    ]


def test_phone_numbers_typed_as_digits_or_with_the_area_code_in_brackets_are_grouped(
        service, sheets):
    organisation = service.create_organisation(organisation_data())
    typed = ["09012345678", "0312345678", "03(1234)5678", "０３（１２３４）５６７８",
             "(03)1234-5678", "0465(12)3456", "0120123456"]
    rows = [sheets.household_row(f"T-{index:02}", 電話番号=phone)
            for index, phone in enumerate(typed)]

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    assert result["summary"]["created"] == len(typed)
    kept = service.list_households(organisation["id"])
    assert [h["phone"] for h in kept] == [
        "090-1234-5678", "03-1234-5678", "03-1234-5678", "03-1234-5678", "03-1234-5678",
        "0465-12-3456", "0120-123-456"]


def test_each_rejected_line_says_why_per_column_of_the_file_in_japanese_and_english(
        service, sheets):
    organisation = service.create_organisation(organisation_data())
    rows = [
        sheets.household_row("R-001"),
        sheets.household_row("R-002", 電話番号="03-12", 子どもの人数="二人"),
        sheets.household_row("R-003", 保護者氏名=""),
        sheets.household_row("R-004", 電話番号="", メールアドレス=""),
    ]

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    by_line = {row["line"]: row for row in result["rows"]}
    assert by_line[2]["outcome"] == "created"
    assert "reasons" not in by_line[2]
    assert [line for line, row in by_line.items() if row["outcome"] == "rejected"] == [3, 4, 5]

    phone, children = by_line[3]["reasons"]
    assert phone["column"] == "電話番号"
    assert "03-1234-5678" in phone["ja"] and phone["en"].startswith("must be a phone number")
    assert children["column"] == "子どもの人数"
    assert "1〜15" in children["ja"]
    [name] = by_line[4]["reasons"]
    assert name == {"column": "保護者氏名", "ja": "保護者氏名が空欄です。", "en": name["en"]}
    assert {reason["column"] for reason in by_line[5]["reasons"]} == {"電話番号", "メールアドレス"}
    assert "どちらか" in by_line[5]["reasons"][0]["ja"]
    for row in (by_line[3], by_line[4], by_line[5]):
        assert all(JAPANESE.search(reason["ja"]) for reason in row["reasons"])
        assert all(reason["en"].isascii() for reason in row["reasons"])


def test_a_wrong_contact_preference_says_in_japanese_what_the_column_may_hold(service, sheets):
    organisation = service.create_organisation(organisation_data())
    header = [*sheets.HEADER, "連絡手段"]
    rows = [
        [*sheets.household_row("C-001"), "FAX"],
        [*sheets.household_row("C-002", 電話番号="", メールアドレス="c2@example.jp"), "SMS"],
        [*sheets.household_row("C-003"), "アプリ通知"],  # a card household
    ]

    result = service.import_households(organisation["id"], sheets.encoded(header, rows))

    reasons = {row["external_ref"]: row["reasons"] for row in result["rows"]}
    [unknown], [sms], [push] = reasons["C-001"], reasons["C-002"], reasons["C-003"]
    assert unknown["column"] == "連絡手段" and "「メール」「SMS」「アプリ通知」" in unknown["ja"]
    assert sms["ja"] == "SMSで連絡するには電話番号が要ります。"
    assert push["ja"] == "アプリ通知は利用方法が「アプリ」の世帯だけが選べます。"
    assert (sms["en"], push["en"]) == ("SMS needs a phone number",
                                       "app notifications need the app (利用方法 アプリ)")


def test_reasons_name_the_columns_as_the_organisations_own_file_spells_them(service, sheets):
    organisation = service.create_organisation(organisation_data())
    rows = [list(sheets.BOM_ROWS[0])]
    rows[0][1] = "0"  # 子供の人数, as this file spells it

    result = service.import_households(organisation["id"], sheets.encoded(sheets.BOM_HEADER, rows))

    [reason] = result["rows"][0]["reasons"]
    assert reason["column"] == "子供の人数"


def test_a_line_over_the_cap_and_the_report_name_the_cap_and_how_many_lines_went_over(
        service, sheets):
    organisation = service.create_organisation(organisation_data(household_cap=3))
    service.enrol_household(organisation["id"], {
        "external_ref": "X-000", "guardian_name": "既存 世帯", "guardian_name_kana": "キゾン セタイ",
        "phone": "03-5555-0000", "address": "星空区1-1-1", "children": 1, "channel": "card",
    })
    rows = [sheets.household_row(f"X-00{number}") for number in range(1, 6)]

    result = service.import_households(organisation["id"], sheets.encoded(sheets.HEADER, rows))

    assert [row["outcome"] for row in result["rows"]] == [
        "created", "created", "rejected", "rejected", "rejected",
    ]
    over = result["rows"][2]
    assert over["code"] == "household_cap_reached"
    assert "上限（3世帯）" in over["reasons"][0]["ja"]
    assert "cap is 3" in over["reasons"][0]["en"]
    cap = result["cap"]
    assert {name: cap[name] for name in ("household_cap", "active_before", "active_after",
                                         "lines_over_cap")} == {
        "household_cap": 3, "active_before": 1, "active_after": 3, "lines_over_cap": 3,
    }
    assert "上限は3世帯" in cap["message"]["ja"] and "3行" in cap["message"]["ja"]
    assert "cap is 3" in cap["message"]["en"] and "3 line(s)" in cap["message"]["en"]


def test_an_import_within_the_cap_carries_no_cap_message(service, sheets):
    organisation = service.create_organisation(organisation_data())

    result = service.import_households(organisation["id"], sheets.shift_jis_file())

    assert result["cap"]["lines_over_cap"] == 0
    assert "message" not in result["cap"]


def test_a_dry_run_previews_exactly_what_the_real_run_then_does(service, sheets, database):
    organisation = service.create_organisation(organisation_data(household_cap=4))
    service.import_households(organisation["id"], sheets.shift_jis_file())
    rows = [list(row) for row in sheets.SHIFT_JIS_ROWS]
    rows[0][7] = "３"                                  # an update
    rows.append(sheets.household_row("P-001"))          # created: the last place under the cap
    rows.append(sheets.household_row("P-002"))          # over the cap
    rows.append(sheets.household_row("P-003", 電話番号="x"))  # a bad phone
    file = sheets.encoded(sheets.HEADER, rows, "cp932")
    events_before = database.outbox_events()

    preview = service.import_households(organisation["id"], file, dry_run=True)

    assert database.outbox_events() == events_before
    real = service.import_households(organisation["id"], file)
    assert preview["summary"] == real["summary"] == {
        "created": 1, "updated": 1, "unchanged": 2, "rejected": 2,
    }
    assert preview["cap"] == real["cap"]
    assert [comparable(row) for row in preview["rows"]] == [comparable(row) for row in real["rows"]]


def comparable(row):
    """What a dry run must foresee: all but the new household's id, code and card."""
    left_out = {"household_id", "activation_code", "activation_code_expires_at", "card_number"}
    return {name: value for name, value in row.items() if name not in left_out}
