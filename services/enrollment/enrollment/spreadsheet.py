"""Reading an organisation's spreadsheet export of its households.

Organisations export from Excel or from their own case-management tools, so the file may be
UTF-8 with a BOM, plain UTF-8 or Shift_JIS (CP932), with Japanese headers in any order and in
several common spellings. Reading turns the file into rows of raw values keyed by household
field, plus the problems found in cells whose meaning is fixed here (利用方法, 言語, 子どもの人数).
Checking the values themselves is the schema's work, the same as for a household typed in.

Lines are counted as a spreadsheet shows them: the header is line 1, the first household
line 2. A completely empty line (Excel often leaves some at the end) is skipped.
"""

import base64
import binascii
import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from shokudo_common.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip) and .xls
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")

# Each field and the headers that name it, compared after header_key(): NFKC, lower case,
# without spaces and brackets. The first spelling is the one used in messages.
HEADERS = {
    "external_ref": ("管理番号", "管理no", "管理no.", "整理番号"),
    "guardian_name": ("保護者氏名", "保護者名", "保護者の氏名", "氏名"),
    "guardian_name_kana": (
        "保護者氏名(フリガナ)", "保護者氏名(ふりがな)", "保護者氏名(カナ)", "保護者名(フリガナ)",
        "保護者フリガナ", "氏名(フリガナ)", "フリガナ", "ふりがな", "カナ", "氏名カナ",
    ),
    "phone": ("電話番号", "電話", "連絡先電話番号", "携帯電話番号", "tel"),
    "email": ("メールアドレス", "メール", "eメール", "e-mail", "email", "mail"),
    "postcode": ("郵便番号", "〒"),
    "address": ("住所", "現住所"),
    "children": (
        "子どもの人数", "子供の人数", "こどもの人数", "子どもの数", "子供の数", "こどもの数",
        "児童数",
    ),
    "channel": ("利用方法", "利用形態"),
    "language": ("言語", "使用言語", "連絡言語"),
    "notify_by": ("連絡手段", "連絡方法", "通知方法"),
}
REQUIRED = ("external_ref", "guardian_name", "guardian_name_kana", "address", "children",
            "channel")
CONTACTS = ("phone", "email")

CHANNEL_WORDS = {
    "アプリ": "app", "app": "app", "スマホ": "app", "スマートフォン": "app",
    "カード": "card", "card": "card",
}
NOTIFY_BY_WORDS = {
    "メール": "email", "eメール": "email", "email": "email",
    "sms": "sms", "ショートメール": "sms", "ショートメッセージ": "sms",
    "アプリ通知": "push", "プッシュ通知": "push", "push": "push",
}
LANGUAGE_WORDS = {
    "日本語": "ja", "ja": "ja", "japanese": "ja",
    "英語": "en", "en": "en", "english": "en",
}


def header_key(text):
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s()\[\]「」【】]", "", text)


HEADER_FIELDS = {
    header_key(spelling): name for name, spellings in HEADERS.items() for spelling in spellings
}


def label(name):
    """The header by which a field is named in messages to the organisation."""
    return HEADERS[name][0]


@dataclass
class Row:
    line: int
    values: dict
    problems: dict = field(default_factory=dict)


@dataclass
class Sheet:
    columns: dict
    rows: list


def read(csv_base64):
    """The sheet in ``csv_base64``, or InvalidInput for a file that cannot be read at all."""
    text = decode(unpack(csv_base64))
    records = csv.reader(io.StringIO(text, newline=""))
    header = next(records, None)
    if header is None:
        raise _bad_file("the file is empty", "empty_file", "ファイルが空です。")
    columns = map_columns(header)
    rows = []
    for line, cells in enumerate(records, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) == MAX_ROWS:
            raise _bad_file(f"the file has more than {MAX_ROWS} households", "file_too_long",
                            f"1つのファイルで取り込めるのは{MAX_ROWS}世帯までです。"
                            "ファイルを分けてください。")
        rows.append(read_row(line, columns, cells))
    return Sheet({name: header[index].strip() for name, index in columns.items()}, rows)


def unpack(csv_base64):
    try:
        raw = base64.b64decode(csv_base64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise _bad_file("csv_base64 is not valid base64", "invalid_input",
                        "ファイルを受け取れませんでした（base64 の形になっていません）。") from None
    if len(raw) > MAX_BYTES:
        megabytes = MAX_BYTES // (1024 * 1024)
        raise _bad_file(f"the file is larger than {megabytes} MB", "file_too_large",
                        f"ファイルが{megabytes}MBを超えています。ファイルを分けてください。")
    return raw


def decode(raw):
    """UTF-8 with BOM, else strict UTF-8, else Shift_JIS as Windows writes it (CP932)."""
    if raw.startswith(WORKBOOK_SIGNATURES):
        raise _bad_file("this is an Excel workbook; save it as CSV and send that",
                        "file_not_readable",
                        "Excelのブック（.xlsx / .xls）のままです。「名前を付けて保存」で"
                        "CSV形式にしてから送ってください。")
    if raw.startswith(codecs.BOM_UTF8):
        return _text(raw.decode("utf-8-sig"))
    try:
        return _text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return _text(raw.decode("cp932"))
    except UnicodeDecodeError:
        pass
    raise _not_text()


def _text(text):
    # CP932 decodes almost any bytes; control or private-use characters betray a file that
    # was not text in the first place.
    if NOT_TEXT.search(text):
        raise _not_text()
    return text


def _not_text():
    return _bad_file("the file is neither UTF-8 nor Shift_JIS text", "file_not_readable",
                     "ファイルの文字コードを読み取れません。CSV（UTF-8 か Shift_JIS）で"
                     "保存し直してください。")


def map_columns(header):
    """Field name -> column index; every required column must be there, none twice."""
    columns, doubled = {}, []
    for index, text in enumerate(header):
        name = HEADER_FIELDS.get(header_key(text))
        if name is None:
            continue  # other columns (備考, 担当者) are the organisation's business
        if name in columns:
            doubled.append(text.strip())
        columns[name] = index
    missing = [label(name) for name in REQUIRED if name not in columns]
    if not any(name in columns for name in CONTACTS):
        missing.append(f"{label('phone')} or {label('email')}")
    if missing or doubled:
        raise _column_problem(missing, doubled)
    return columns


def read_row(line, columns, cells):
    raw = {name: cell_at(cells, index) for name, index in columns.items()}
    row = Row(line, {})
    for name, value in raw.items():
        reader = CELL_READERS.get(name)
        if reader is None:
            row.values[name] = value
            continue
        try:
            reading = reader(value)
        except ValueError as problem:
            row.problems[name] = [str(problem)]
            continue
        if reading is not None:
            row.values[name] = reading
    return row


def cell_at(cells, index):
    return unguard(cells[index].strip()) if index < len(cells) else ""


# A cell starting with one of these is a formula to Excel; our own export puts a quote before
# it so that a name like "=1+1" stays text (:mod:`enrollment.export`), and reading takes the
# quote off again so the export imports as unchanged.
FORMULA_STARTS = ("=", "+", "-", "@")

# Text Excel would turn into a number or a date on opening a CSV: a 管理番号 001 would become 1,
# digits longer than 15 would be rounded, 1-2 would become 2 January. Such a cell is written
# as ="001", a formula whose value is the text itself, which Excel (and LibreOffice, Google
# Sheets) shows as typed. Saved again as CSV, Excel writes the value, 001: both forms read the
# same here.
EXCEL_WOULD_CONVERT = re.compile(
    r"[+-]?(\d[\d,]*(\.\d*)?([eE][+-]?\d+)?%?|\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?"
    r"|\d{1,2}:\d{2}(:\d{2})?)"
)
AS_TEXT = re.compile(r'="([^"]*)"')


def guard(text):
    """A text cell as Excel will keep it: as text, never a formula, number or date."""
    if EXCEL_WOULD_CONVERT.fullmatch(text):
        return f'="{text}"'
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unguard(text):
    """The text of a cell :func:`guard` wrote (or Excel saved back)."""
    as_text = AS_TEXT.fullmatch(text)
    if as_text:
        return as_text.group(1)
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def read_children(value):
    count = unicodedata.normalize("NFKC", value).strip().removesuffix("人").strip()
    if not re.fullmatch(r"[0-9]{1,3}", count):
        raise ValueError("must be the number of children, 1 to 15")
    return int(count)


def read_channel(value):
    channel = CHANNEL_WORDS.get(header_key(value))
    if channel is None:
        raise ValueError("must be アプリ or カード")
    return channel


def read_language(value):
    """A blank cell leaves the language as it is (日本語 for a new household)."""
    if not value:
        return None
    language = LANGUAGE_WORDS.get(header_key(value))
    if language is None:
        raise ValueError("must be 日本語 or 英語 (English)")
    return language


def read_notify_by(value):
    """A blank cell leaves the channel as it is (メール for a new household)."""
    if not value:
        return None
    notify_by = NOTIFY_BY_WORDS.get(header_key(value))
    if notify_by is None:
        raise ValueError("must be メール, SMS or アプリ通知")
    return notify_by


CELL_READERS = {
    "children": read_children,
    "channel": read_channel,
    "language": read_language,
    "notify_by": read_notify_by,
}


def _bad_file(message, code, japanese):
    """The whole file refused: ``details.message`` says why in Japanese, with the English."""
    return InvalidInput(code, message, {"fields": {"csv_base64": [message]},
                                        "message": {"ja": japanese, "en": message}})


def _column_problem(missing, doubled):
    problems, japanese = [], []
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
        japanese.append("次の列がありません: "
                        + "、".join(name.replace(" or ", "または") for name in missing) + "。")
    if doubled:
        problems.append("columns given twice: " + ", ".join(doubled))
        japanese.append("同じ列が2つあります: " + "、".join(doubled) + "。")
    message = "; ".join(problems)
    return InvalidInput("import_columns_invalid", message, {
        "fields": {"csv_base64": [message]},
        "message": {"ja": "".join(japanese) + "見出しの行を確かめてください。", "en": message},
        "missing_columns": missing,
        "doubled_columns": doubled,
    })
