"""An organisation's households as a spreadsheet it can open in Excel and import again.

The file is UTF-8 with a BOM (Excel otherwise reads it as Shift_JIS and garbles every name),
lines end in CRLF, and the headers are the ones the import reads first, in the import's order,
so a file exported and imported again is all "unchanged". One more column, 状態, tells staff
whether each household is active, suspended or withdrawn; the import leaves it alone, as it
leaves any column it does not know. Text Excel would take for a number or a date (a 管理番号
001, digits alone) is written so that Excel keeps it as typed (:func:`spreadsheet.guard`).
"""

import csv
import io

from enrollment import spreadsheet

BOM = "\ufeff"
STATUS_HEADER = "状態"

CHANNEL_WORDS = {"app": "アプリ", "card": "カード"}
LANGUAGE_WORDS = {"ja": "日本語", "en": "英語"}
NOTIFY_BY_WORDS = {"email": "メール", "sms": "SMS", "push": "アプリ通知"}
STATUS_WORDS = {"active": "利用中", "suspended": "一時停止", "withdrawn": "退会"}


def households_csv(households):
    """The CSV text of ``households``, BOM first, ready to be encoded as UTF-8."""
    fields = list(spreadsheet.HEADERS)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet.label(name) for name in fields] + [STATUS_HEADER])
    for household in households:
        cells = [cell(name, getattr(household, name)) for name in fields]
        writer.writerow(cells + [STATUS_WORDS[household.status]])
    return BOM + out.getvalue()


def cell(name, value):
    """A household field as the import reads it back: words for codes, blank for nothing."""
    if value is None:
        return ""
    if name == "channel":
        return CHANNEL_WORDS[value]
    if name == "language":
        return LANGUAGE_WORDS[value]
    if name == "notify_by":
        return NOTIFY_BY_WORDS[value]
    if name == "children":
        return str(value)  # a number, and Excel may read it as one
    return spreadsheet.guard(str(value))
