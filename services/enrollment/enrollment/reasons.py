"""Why a spreadsheet line was rejected, column by column, in Japanese first and in English.

The checks speak English: the schema's and the reader's messages, which the API shares. The
staff who fix the file read Japanese, so each column gets a sentence saying what it must hold,
and each refusal of a whole line (the cap, a 管理番号 given twice) a sentence of its own. The
English beside it is the check's own message, so nothing the check said is lost in translation.

A reason names the column by the header the organisation's own file gives it; a reason about
the whole line names no column.
"""

from enrollment.schemas import NO_CONTACT, NOTIFY_BY_PUSH_WITHOUT_APP, NOTIFY_BY_SMS_WITHOUT_PHONE
from enrollment.spreadsheet import label

# What marshmallow and our fields say when a cell is empty. An empty cell also fails its
# length check; that second message says nothing more and is left out.
BLANK_MESSAGES = ("Missing data for required field.", "Field may not be null.",
                  "must not be blank")

WHAT_EACH_COLUMN_HOLDS = {
    "external_ref": "1〜40文字で書いてください。",
    "guardian_name": "100文字以内で書いてください。",
    "guardian_name_kana": "カタカナかひらがなで書いてください（100文字以内）。",
    "phone": "03-1234-5678 や 090-1234-5678 のような電話番号を書いてください。",
    "email": "メールアドレスの形になっていません（例: name@example.jp）。",
    "postcode": "123-4567 のような7桁の郵便番号を書いてください。",
    "address": "300文字以内で書いてください。",
    "children": "子どもの人数を 1〜15 の数字で書いてください。",
    "channel": "「アプリ」か「カード」と書いてください。",
    "language": "「日本語」か「英語」と書いてください。",
    "notify_by": "「メール」「SMS」「アプリ通知」のどれかを書いてください（空欄はメール）。",
}
ANY_COLUMN = "この欄の値を確かめてください。"

WHOLE_LINE = {
    "duplicate_external_ref": "同じ管理番号がこのファイルの複数の行にあります（{lines}行目）。"
                              "どちらが正しいか確かめ、1行にしてください。",
    "household_cap_reached": "利用中の世帯が上限（{cap}世帯）に達しているため、この行は登録"
                             "しませんでした。",
    "household_withdrawn": "この世帯は退会済みのため、内容を変更できません。",
    "household_moved": "管理番号 {ref} の世帯は他の団体へ移ったため、この団体では登録しません。"
                       "別の世帯であれば、別の管理番号にしてください。",
    "row_not_saved": "この行は保存できませんでした。もう一度ファイルを取り込んでください。",
}
WHOLE_LINE_FALLBACK = "この行は取り込めませんでした。"


def for_columns(errors, headers):
    """Reasons for cell errors ({field: [English message]}), in the order of the columns."""
    reasons = []
    for name in sorted(errors, key=_column_order):
        for message in _said_once(errors[name]):
            reasons.append({
                "column": _header(name, headers),
                "ja": _in_japanese(name, message, headers),
                "en": message,
            })
    return reasons


def for_line(code, message, **facts):
    """The reason a whole line was refused, ``facts`` filling the Japanese sentence."""
    japanese = WHOLE_LINE.get(code, WHOLE_LINE_FALLBACK).format(**facts)
    return [{"column": None, "ja": japanese, "en": message}]


def over_cap(cap, lines_over):
    """The import's own word on the cap: the cap, and how many lines it kept out."""
    return {
        "ja": f"この団体の利用中世帯の上限は{cap}世帯です。上限を超えた{lines_over}行は登録して"
              "いません。退会・停止の手続きをするか、運営事務局に上限の引き上げを相談してください。",
        "en": f"The organisation's cap is {cap} active households; {lines_over} line(s) went"
              " over it and were not imported. Withdraw or suspend households, or ask the"
              " operator to raise the cap.",
    }


def _in_japanese(name, message, headers):
    if message == NO_CONTACT:
        return f"{_header('phone', headers)}か{_header('email', headers)}のどちらかを書いてください。"
    if message == NOTIFY_BY_SMS_WITHOUT_PHONE:
        return f"SMSで連絡するには{_header('phone', headers)}が要ります。"
    if message == NOTIFY_BY_PUSH_WITHOUT_APP:
        return f"アプリ通知は{_header('channel', headers)}が「アプリ」の世帯だけが選べます。"
    if message in BLANK_MESSAGES:
        return f"{_header(name, headers)}が空欄です。"
    return WHAT_EACH_COLUMN_HOLDS.get(name, ANY_COLUMN)


def _said_once(messages):
    blank = [message for message in messages if message in BLANK_MESSAGES]
    return blank[:1] or messages


def _header(name, headers):
    if name in headers:
        return headers[name]
    return label(name) if name in WHAT_EACH_COLUMN_HOLDS else name


def _column_order(name):
    columns = list(WHAT_EACH_COLUMN_HOLDS)
    return columns.index(name) if name in columns else len(columns)
