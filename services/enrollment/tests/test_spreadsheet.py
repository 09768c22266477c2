import base64
import codecs

import pytest

from shokudo_common.errors import InvalidInput

from enrollment import spreadsheet


def test_shift_jis_and_utf8_with_bom_read_to_the_same_columns(sheets):
    from_shift_jis = spreadsheet.read(sheets.shift_jis_file())
    from_bom = spreadsheet.read(sheets.bom_file())

    # Neither file has the optional 連絡手段 column: the households keep the default, メール.
    expected = set(spreadsheet.HEADERS) - {"notify_by"}
    assert set(from_shift_jis.columns) == set(from_bom.columns) == expected
    assert from_bom.columns["guardian_name_kana"] == "フリガナ"
    assert [row.line for row in from_shift_jis.rows] == [2, 3, 4]


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_encoding_is_detected_without_being_told(encoding, sheets):
    sheet = spreadsheet.read(sheets.encoded(sheets.HEADER, sheets.SHIFT_JIS_ROWS, encoding))

    assert sheet.rows[0].values["guardian_name"] == "山田 花子"


def test_a_bom_is_not_part_of_the_first_header(sheets):
    raw = codecs.BOM_UTF8 + sheets.csv_text(sheets.HEADER, sheets.SHIFT_JIS_ROWS).encode("utf-8")

    sheet = spreadsheet.read(base64.b64encode(raw).decode())

    assert sheet.columns["external_ref"] == "管理番号"


def test_cells_with_a_fixed_meaning_are_read_into_values(sheets):
    rows = spreadsheet.read(sheets.shift_jis_file()).rows

    assert [row.values["children"] for row in rows] == [2, 3, 1]
    assert [row.values["channel"] for row in rows] == ["app", "card", "app"]
    assert [row.values["language"] for row in rows] == ["ja", "ja", "en"]


def test_unknown_words_in_cells_are_problems_of_their_line(sheets):
    rows = [["X1", "名", "メイ", "", "", "", "住所", "二人", "郵送", "中国語"]]

    [row] = spreadsheet.read(sheets.encoded(sheets.HEADER, rows)).rows

    assert set(row.problems) == {"children", "channel", "language"}
    assert "アプリ" in row.problems["channel"][0]


def test_empty_lines_are_skipped_but_still_counted(sheets):
    empty = [""] * len(sheets.HEADER)
    rows = [sheets.SHIFT_JIS_ROWS[0], empty, sheets.SHIFT_JIS_ROWS[1], empty]

    sheet = spreadsheet.read(sheets.encoded(sheets.HEADER, rows))

    assert [row.line for row in sheet.rows] == [2, 4]


def test_missing_columns_fail_the_whole_file_naming_each_of_them(sheets):
    left_out = ("管理番号", "住所", "電話番号", "メールアドレス")
    header = [name for name in sheets.HEADER if name not in left_out]

    with pytest.raises(InvalidInput) as raised:
        spreadsheet.read(sheets.encoded(header, []))

    missing = raised.value.details["missing_columns"]
    assert missing == ["管理番号", "住所", "電話番号 or メールアドレス"]
    assert "管理番号" in raised.value.message
    assert raised.value.details["message"] == {
        "ja": "次の列がありません: 管理番号、住所、電話番号またはメールアドレス。"
              "見出しの行を確かめてください。",
        "en": raised.value.message}


def test_a_column_given_twice_fails_the_whole_file(sheets):
    with pytest.raises(InvalidInput) as raised:
        spreadsheet.read(sheets.encoded(sheets.BOM_HEADER + ["保護者氏名（フリガナ）"], []))

    assert raised.value.details["doubled_columns"] == ["保護者氏名（フリガナ）"]
    assert "同じ列が2つあります: 保護者氏名（フリガナ）" in raised.value.details["message"]["ja"]


@pytest.mark.parametrize("payload, code, japanese", [
    ("not base64!", "invalid_input", "base64"),
    (base64.b64encode(b"").decode(), "empty_file", "ファイルが空です"),
    (base64.b64encode(b"\x82\xa0\xff\xff\x80\x80").decode(), "file_not_readable", "文字コード"),
    (base64.b64encode(b"PK\x03\x04\x14\x00\x06\x00").decode(), "file_not_readable",
     "Excelのブック"),
    (base64.b64encode(b"a" * (spreadsheet.MAX_BYTES + 1)).decode(), "file_too_large", "5MB"),
])
def test_a_file_that_cannot_be_read_is_refused_whole_in_japanese_and_english(
        payload, code, japanese, sheets):
    with pytest.raises(InvalidInput) as raised:
        spreadsheet.read(payload)

    assert raised.value.code == code
    assert "csv_base64" in raised.value.details["fields"]
    assert japanese in raised.value.details["message"]["ja"]
    assert raised.value.details["message"]["en"] == raised.value.message
