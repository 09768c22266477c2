"""What an organisation prints: sheets of cards to cut out, and letters that start the app.

Both are A4 PDFs drawn with reportlab in its built-in Japanese CID fonts, so no font file is
downloaded or shipped, and QR codes drawn as vector squares from segno's matrix, so they stay
sharp whatever the printer.

A card is a child's to carry and show at the counter: it says ドコデモこども食堂, the card
number and who to call (the organisation), and nothing that tells anyone the family is poor
(no 支援, 困窮, 無料 …). Which card belongs to which household is printed outside the cut line,
as the organisation's own 管理番号, so staff can hand each card to the right family.

A letter is the organisation's own document to a guardian: it names the guardian and carries
a fresh activation code, as text and as a QR code holding the code alone.
"""

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from enrollment import domain

GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"
for _font in (GOTHIC, MINCHO):
    pdfmetrics.registerFont(UnicodeCIDFont(_font))

PLATFORM_NAME = "ドコデモこども食堂"
PLATFORM_NAME_EN = "Dokodemo Kodomo Shokudo"
# Where a letter's dates are read. Enrollment does not hold the region's time zone (issuance
# does); every region is in Japan for now (docs/known-gaps.md).
LETTER_TIME_ZONE = ZoneInfo("Asia/Tokyo")

PAGE_WIDTH, PAGE_HEIGHT = A4

# ISO/IEC 7810 ID-1, the size of a credit card, so it fits a wallet and a card sleeve.
CARD_WIDTH, CARD_HEIGHT = 85.6 * mm, 53.98 * mm
CARD_COLUMNS, CARD_ROWS = 2, 4
CARD_GAP = 10 * mm
# Room above each card for the 管理番号, outside the cut line.
CARD_LABEL = 7 * mm
CARD_PADDING = 4 * mm
CARD_QR = 30 * mm


@dataclass(frozen=True)
class PrintedCard:
    card_number: str
    external_ref: str


@dataclass(frozen=True)
class Organisation:
    name: str
    contact_phone: str


@dataclass(frozen=True)
class Letter:
    guardian_name: str
    activation_code: str
    expires_at: datetime


# -- cards ------------------------------------------------------------------------------------

def card_sheets(organisation, cards):
    """A PDF of ``cards`` (PrintedCard), eight to an A4 page, each boxed by its cut line."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{PLATFORM_NAME} カード")
    per_page = CARD_COLUMNS * CARD_ROWS
    for start in range(0, len(cards), per_page):
        for place, card in enumerate(cards[start:start + per_page]):
            x, y = _card_corner(place)
            _draw_card(canvas, x, y, organisation, card)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _card_corner(place):
    """Bottom-left corner of the card at ``place`` (0 top left, then along each row)."""
    column, row = place % CARD_COLUMNS, place // CARD_COLUMNS
    grid_width = CARD_COLUMNS * CARD_WIDTH + (CARD_COLUMNS - 1) * CARD_GAP
    pitch = (PAGE_HEIGHT - 2 * CARD_GAP) / CARD_ROWS
    x = (PAGE_WIDTH - grid_width) / 2 + column * (CARD_WIDTH + CARD_GAP)
    y = PAGE_HEIGHT - CARD_GAP - (row + 1) * pitch
    return x, y


def _draw_card(canvas, x, y, organisation, card):
    _cut_line(canvas, x, y)

    canvas.setFont(GOTHIC, 7)
    canvas.setFillGray(0.35)
    canvas.drawString(x, y + CARD_HEIGHT + 2 * mm, f"管理番号 {card.external_ref}")
    canvas.setFillGray(0)

    left, top = x + CARD_PADDING, y + CARD_HEIGHT - CARD_PADDING
    canvas.setFont(GOTHIC, 13)
    canvas.drawString(left, top - 13, PLATFORM_NAME)
    canvas.setFont(GOTHIC, 7)
    canvas.drawString(left, top - 22, PLATFORM_NAME_EN)

    text_width = CARD_WIDTH - 3 * CARD_PADDING - CARD_QR
    _fitted(canvas, left, y + CARD_HEIGHT / 2 - 4, domain.format_card_number(card.card_number),
            GOTHIC, 11, text_width)

    _fitted(canvas, left, y + CARD_PADDING + 9, organisation.name, GOTHIC, 7, text_width)
    _fitted(canvas, left, y + CARD_PADDING, f"TEL {organisation.contact_phone}", GOTHIC, 7,
            text_width)

    qr_x = x + CARD_WIDTH - CARD_PADDING - CARD_QR
    _qr(canvas, card.card_number, qr_x, y + (CARD_HEIGHT - CARD_QR) / 2, CARD_QR)


def _cut_line(canvas, x, y):
    canvas.saveState()
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.5)
    canvas.setDash(3, 2)
    canvas.roundRect(x, y, CARD_WIDTH, CARD_HEIGHT, 3 * mm, stroke=1, fill=0)
    canvas.restoreState()


# -- letters ----------------------------------------------------------------------------------

LETTER_MARGIN = 20 * mm
LETTER_QR = 45 * mm

STEPS = (
    ("スマートフォンに「ドコデモこども食堂」アプリを入れてください。",
     "Install the Dokodemo Kodomo Shokudo app on your smartphone."),
    ("アプリを開いて「はじめる」を押し、下のQRコードを読み取るか、利用開始コードを入力して"
     "ください。", "Open the app, tap \"Start\", then scan the QR code below or type the code."),
    ("提携しているお店でアプリのQRコードを見せると、お食事に使えます。",
     "Show the app's QR code at a partner restaurant to pay for a meal."),
)


def app_letter(organisation, letter, issued_on):
    """A one-page A4 letter to the guardian with the code, its QR code and how to start."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{PLATFORM_NAME} アプリの始め方")
    writer = _Lines(canvas, PAGE_HEIGHT - LETTER_MARGIN)

    canvas.setFont(MINCHO, 10)
    canvas.drawRightString(PAGE_WIDTH - LETTER_MARGIN, writer.y, _japanese_date(issued_on))
    writer.down(14)
    canvas.drawRightString(PAGE_WIDTH - LETTER_MARGIN, writer.y, organisation.name)
    writer.down(28)

    writer.line(f"{letter.guardian_name} 様", MINCHO, 13)
    writer.line(f"Dear {letter.guardian_name},", MINCHO, 10, after=22)

    writer.line(f"{PLATFORM_NAME} アプリの始め方", GOTHIC, 16)
    writer.line(f"How to start the {PLATFORM_NAME_EN} app", GOTHIC, 11, after=18)

    for number, (japanese, english) in enumerate(STEPS, start=1):
        writer.wrapped(f"{number}. {japanese}", MINCHO, 11)
        writer.wrapped(f"   {english}", MINCHO, 9, after=10)

    _code_block(canvas, writer, letter)
    _closing(canvas, writer, organisation)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _code_block(canvas, writer, letter):
    writer.down(6)
    top = writer.y
    _qr(canvas, letter.activation_code, LETTER_MARGIN, top - LETTER_QR, LETTER_QR)

    text_x = LETTER_MARGIN + LETTER_QR + 10 * mm
    canvas.setFont(GOTHIC, 10)
    canvas.drawString(text_x, top - 14, "利用開始コード / Activation code")
    canvas.setFont(GOTHIC, 20)
    canvas.drawString(text_x, top - 40, letter.activation_code)
    canvas.setFont(MINCHO, 10)
    expires = letter.expires_at.astimezone(LETTER_TIME_ZONE)
    canvas.drawString(text_x, top - 60, f"有効期限 {_japanese_date(expires)} まで")
    canvas.drawString(text_x, top - 74, f"Valid until {expires:%d %B %Y}")
    writer.y = top - LETTER_QR - 16


def _closing(canvas, writer, organisation):
    writer.wrapped("このコードは一度だけ使えます。ほかの人には見せないでください。以前にお渡しした"
                   "コードは、もう使えません。", MINCHO, 10)
    writer.wrapped("This code works once. Please keep it to yourself. Any code you were given"
                   " before no longer works.", MINCHO, 9, after=16)
    writer.line("お問い合わせ / Questions", GOTHIC, 10)
    writer.line(f"{organisation.name}  TEL {organisation.contact_phone}", MINCHO, 10)


class _Lines:
    """Writes lines down the page from ``y``, wrapping long ones within the margins."""

    def __init__(self, canvas, y):
        self.canvas = canvas
        self.y = y

    def down(self, points):
        self.y -= points

    def line(self, text, font, size, after=4):
        self.canvas.setFont(font, size)
        self.canvas.drawString(LETTER_MARGIN, self.y, text)
        self.down(size + after)

    def wrapped(self, text, font, size, after=4):
        width = PAGE_WIDTH - 2 * LETTER_MARGIN
        for piece in _wrap(text, font, size, width):
            self.line(piece, font, size, after=3)
        self.down(after - 3)


def _wrap(text, font, size, width):
    """Lines of ``text`` within ``width``: by character, as Japanese text breaks anywhere."""
    lines, current = [], ""
    for char in text:
        if current and pdfmetrics.stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = "" if char == " " else char
        else:
            current += char
    return [*lines, current] if current else lines


# -- shared -----------------------------------------------------------------------------------

def _canvas(buffer, title):
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(PLATFORM_NAME)
    return canvas


def _fitted(canvas, x, y, text, font, size, width):
    """``text`` at ``size``, smaller if it would run past ``width`` (a long name)."""
    while size > 4 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)


def _qr(canvas, content, x, y, size):
    """A QR code of ``content`` in a ``size`` square whose bottom left is (x, y)."""
    code = segno.make(content, error="m")
    matrix = code.matrix
    # Four modules of white around the symbol, as scanners expect.
    quiet = 4
    module = size / (len(matrix) + 2 * quiet)
    canvas.saveState()
    canvas.setFillGray(0)
    for row_index, row in enumerate(matrix):
        top = y + size - (quiet + row_index) * module
        for column_index, dark in enumerate(row):
            if dark:
                canvas.rect(x + (quiet + column_index) * module, top - module, module, module,
                            stroke=0, fill=1)
    canvas.restoreState()


def _japanese_date(moment):
    return f"{moment.year}年{moment.month}月{moment.day}日"
