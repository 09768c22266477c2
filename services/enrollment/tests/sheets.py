"""Spreadsheet exports as organisations send them, for the tests."""

import base64
import codecs

HEADER = ["管理番号", "保護者氏名", "保護者氏名（フリガナ）", "電話番号", "メールアドレス", "郵便番号",
          "住所", "子どもの人数", "利用方法", "言語"]

# Three households as an older Windows tool exports them: Shift_JIS, full-width digits,
# full-width and long-vowel dashes, half-width katakana.
SHIFT_JIS_ROWS = [
    ["Ａ－００１", "山田 花子", "ヤマダ ハナコ", "０３－１２３４－５６７８", "", "１６０－００２２",
     "星空区青葉1-2-3", "２", "アプリ", "日本語"],
    ["Ａ－００２", "佐藤 太郎", "ｻﾄｳ ﾀﾛｳ", "０９０ー１２３４ー５６７８", "taro@example.jp", "",
     "星空区若葉4-5-6", "３人", "カード", "日本語"],
    ["Ａ－００３", "Maria Santos", "マリア サントス", "", "maria@example.jp", "１６０ー００２３",
     "星空区青葉7-8-9", "１", "アプリ", "英語"],
]

# The same households as a newer tool exports them: UTF-8 with a BOM, ASCII digits, columns
# in another order and spelt a little differently.
BOM_HEADER = ["利用方法", "子供の人数", "フリガナ", "管理番号", "住所", "メールアドレス", "電話番号",
              "郵便番号", "言語", "保護者氏名"]
BOM_ROWS = [
    ["アプリ", "2", "ヤマダ ハナコ", "A-001", "星空区青葉1-2-3", "", "03-1234-5678", "160-0022",
     "日本語", "山田 花子"],
    ["カード", "3", "サトウ タロウ", "A-002", "星空区若葉4-5-6", "taro@example.jp", "090-1234-5678",
     "", "日本語", "佐藤 太郎"],
    ["アプリ", "1", "マリア サントス", "A-003", "星空区青葉7-8-9", "maria@example.jp", "", "160-0023",
     "English", "Maria Santos"],
]


def csv_text(header, rows):
    lines = [header, *rows]
    return "".join(",".join(_quoted(cell) for cell in line) + "\r\n" for line in lines)


def encoded(header, rows, encoding="utf-8"):
    raw = csv_text(header, rows).encode(encoding)
    return base64.b64encode(raw).decode("ascii")


def shift_jis_file():
    return encoded(HEADER, SHIFT_JIS_ROWS, "cp932")


def bom_file():
    raw = codecs.BOM_UTF8 + csv_text(BOM_HEADER, BOM_ROWS).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def household_row(ref, **overrides):
    """A good line in HEADER order; overrides by header name."""
    cells = dict(zip(HEADER, [ref, "鈴木 一郎", "スズキ イチロウ", "03-5555-0000", "", "160-0001",
                              "星空区1-1-1", "1", "カード", "日本語"]))
    cells.update(overrides)
    return [cells[name] for name in HEADER]


def _quoted(cell):
    if any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
