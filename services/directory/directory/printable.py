"""The printed list of a region's partner restaurants, for organisations to hand to families.

Restaurants are grouped by area (地域), areas in the order of their text (code points: there is
no reading of area names to sort by), restaurants by their kana name within each; a restaurant
with no area comes last under その他. Both forms carry the same columns: name, kana, area,
address, phone, hours in plain Japanese and the flags' Japanese labels. The CSV is UTF-8 with a
byte order mark and CRLF lines, so Excel opens it as it is; the PDF is A4 in reportlab's
built-in Japanese font (HeiseiKakuGo-W5, a CID font that PDF readers supply: no font file is
shipped or downloaded).
"""

import csv
import io
from itertools import groupby

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from directory import hours
from directory.flags import FLAGS, label_en, label_ja

FONT = "HeiseiKakuGo-W5"
NO_AREA = "その他 / Other"
COLUMNS = [
    ("area", "地域 / Area"),
    ("name", "店名 / Name"),
    ("name_kana", "よみがな / Kana"),
    ("address", "住所 / Address"),
    ("phone", "電話 / Phone"),
    ("hours", "営業時間 / Hours"),
    ("flags", "特徴 / Features"),
]

pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def by_area(restaurants):
    """[(area, [restaurant line…])…] in print order; each line has the columns above."""
    lines = sorted((_line(restaurant) for restaurant in restaurants),
                   key=lambda line: (line["area"] == NO_AREA, line["area"], line["name_kana"]))
    return [(area, list(group)) for area, group in groupby(lines, key=lambda line: line["area"])]


def _line(restaurant):
    return {
        "area": restaurant["area"] or NO_AREA,
        "name": restaurant["name"],
        "name_kana": restaurant["name_kana"],
        "address": restaurant["address"],
        "phone": restaurant["phone"],
        "hours": hours.readable_ja(restaurant["opening_hours"]),
        "flags": "・".join(label_ja(flag) for flag in restaurant["flags"] if flag in FLAGS),
    }


def csv_text(restaurants):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for _, title in COLUMNS])
    for _, lines in by_area(restaurants):
        for line in lines:
            writer.writerow([line[key] for key, _ in COLUMNS])
    return "\ufeff" + out.getvalue()


# -- the PDF ---------------------------------------------------------------------------------

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=20)
NOTE = ParagraphStyle("note", fontName=FONT, fontSize=8, leading=11, textColor=colors.grey)
AREA = ParagraphStyle("area", fontName=FONT, fontSize=12, leading=16, spaceBefore=8,
                      spaceAfter=3)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10.5, wordWrap="CJK")
HEADER = ParagraphStyle("header", parent=CELL, textColor=colors.white)

# Area is the heading above each table, so the tables leave it out.
PDF_COLUMNS = [(key, title) for key, title in COLUMNS if key != "area"]
WIDTHS = [32 * mm, 26 * mm, 34 * mm, 25 * mm, 39 * mm, 26 * mm]


def pdf_bytes(program_name, restaurants, printed_on):
    """The A4 list, titled with the region's program name (its id until the directory has
    heard the name); ``printed_on`` is the region's local date, printed under the title."""
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=9 * mm, rightMargin=9 * mm,
                                 topMargin=12 * mm, bottomMargin=12 * mm,
                                 title=f"提携飲食店一覧 {program_name}", author="ドコデモこども食堂")
    story = [
        Paragraph(f"ドコデモこども食堂 提携飲食店一覧 ({escape(program_name)})", TITLE),
        Paragraph(f"Partner restaurants — {printed_on.isoformat()} 現在 / as of "
                  f"{printed_on.isoformat()}. 食事券・カードが使えるお店です。"
                  " The meal ticket and card are accepted here.", NOTE),
        Paragraph("特徴 / Features: " + "、".join(
            f"{escape(ja)} ({escape(en)})" for ja, en in
            ((label_ja(flag), label_en(flag)) for flag in FLAGS)), NOTE),
    ]
    for area, lines in by_area(restaurants):
        story.append(Paragraph(escape(area), AREA))
        story.append(_table(lines))
    if not restaurants:
        story.append(Spacer(0, 10 * mm))
        story.append(Paragraph("提携飲食店はまだありません / No partner restaurant yet.", CELL))
    document.build(story)
    return out.getvalue()


def _cell(key, value):
    # A phone number stays one line (a paragraph in CJK wrapping would break it anywhere);
    # each group of days of the hours gets a line of its own.
    if key == "phone":
        return value
    text = escape(value)
    return Paragraph(text.replace(" / ", "<br/>") if key == "hours" else text, CELL)


def _table(lines):
    rows = [[Paragraph(escape(title), HEADER) for _, title in PDF_COLUMNS]]
    rows += [[_cell(key, line[key]) for key, _ in PDF_COLUMNS] for line in lines]
    table = Table(rows, colWidths=WIDTHS, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#3b6e8f")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa7b0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 1), (-1, -1), FONT, CELL.fontSize),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f5f8")]),
    ]))
    return table
