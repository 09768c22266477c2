"""The rules of using a meal ticket at a partner restaurant's counter.

When a family shows a card or a QR code with a bill, the checks run in a fixed order and the
first that fails names the decline:

    card number's check digit right? / QR code ours and whole? not expired?
        ─ card or QR code known? ─ restaurant active? ─ same region? ─ household active?
        ─ (tickets locked) QR code used before? ─ a ticket whose window holds this instant?
        ─ the very ticket the QR code names? ─ anything left on it?

A mistyped card number is declined before anything is looked up. A QR code pays one bill at
most: its ``jti`` is kept with the redemption it paid, and a screenshot shown again is declined.

If every check passes, the ticket pays what it can: ``min(balance, bill)``. The family pays
the rest at the counter, and whatever remains on the ticket stays usable until its window
ends. A decline is a normal answer for the counter, in Japanese and English, never an error.

Known shortcoming: a region that restricts households to their own organisation's restaurants
is not enforced here yet; that program setting lives in issuance and reaches no event.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from shokudo_common import vocabulary
from shokudo_common.periods import Period, zone_info

UNKNOWN_CARD_OR_TOKEN = "unknown_card_or_token"
RESTAURANT_NOT_ACTIVE = "restaurant_not_active"
RESTAURANT_OTHER_REGION = "restaurant_other_region"
RESTAURANT_OTHER_ORGANISATION = "restaurant_other_organisation"
HOUSEHOLD_NOT_ACTIVE = "household_not_active"
OUTSIDE_VALIDITY_WINDOW = "outside_validity_window"
NOTHING_LEFT = "nothing_left"
CARD_NUMBER_INVALID = "card_number_invalid"
QR_TOKEN_INVALID = "qr_token_invalid"
QR_TOKEN_EXPIRED = "qr_token_expired"
QR_TOKEN_WRONG_HOUSEHOLD = "qr_token_wrong_household"
QR_TOKEN_ALREADY_USED = "qr_token_already_used"

# In the order the counter checks them.
DECLINE_REASONS = (
    CARD_NUMBER_INVALID, QR_TOKEN_INVALID, QR_TOKEN_EXPIRED,
    UNKNOWN_CARD_OR_TOKEN, RESTAURANT_NOT_ACTIVE, RESTAURANT_OTHER_REGION,
    RESTAURANT_OTHER_ORGANISATION, HOUSEHOLD_NOT_ACTIVE, QR_TOKEN_ALREADY_USED,
    OUTSIDE_VALIDITY_WINDOW, QR_TOKEN_WRONG_HOUSEHOLD, NOTHING_LEFT,
)

DECLINE_MESSAGES = {
    CARD_NUMBER_INVALID: (
        "カード番号が正しくありません。もう一度入力してください。",
        "The card number is not right. Please type it again.",
    ),
    QR_TOKEN_INVALID: (
        "このQRコードは読み取れません。アプリで新しいQRコードを表示してください。",
        "This QR code cannot be read. Please show a new QR code from the app.",
    ),
    QR_TOKEN_EXPIRED: (
        "QRコードの有効期限が切れています。アプリで新しいQRコードを表示してください。",
        "This QR code has expired. Please show a new QR code from the app.",
    ),
    QR_TOKEN_WRONG_HOUSEHOLD: (
        "このQRコードは現在のチケットのものではありません。アプリで新しいQRコードを表示してください。",
        "This QR code is not for the current ticket. Please show a new QR code from the app.",
    ),
    QR_TOKEN_ALREADY_USED: (
        "このQRコードは使用済みです。アプリで新しいQRコードを表示してください。",
        "This QR code has already been used. Please show a new QR code from the app.",
    ),
    UNKNOWN_CARD_OR_TOKEN: (
        "このカードまたはQRコードは使えません。",
        "This card or QR code cannot be used.",
    ),
    RESTAURANT_NOT_ACTIVE: (
        "この店舗では現在チケットを利用できません。",
        "Tickets cannot be used at this restaurant at the moment.",
    ),
    RESTAURANT_OTHER_REGION: (
        "このチケットは他の地域の店舗では使えません。",
        "This ticket cannot be used at restaurants of another region.",
    ),
    RESTAURANT_OTHER_ORGANISATION: (
        "このチケットは、ご家庭の支援団体が推薦した店舗でのみ使えます。",
        "This ticket can be used only at restaurants the family's support organisation"
        " nominated.",
    ),
    HOUSEHOLD_NOT_ACTIVE: (
        "このチケットは現在利用できません。支援団体にお問い合わせください。",
        "This ticket cannot be used at the moment. Please contact your support organisation.",
    ),
    OUTSIDE_VALIDITY_WINDOW: (
        "本日使える有効期間内のチケットがありません。",
        "There is no ticket valid today.",
    ),
    NOTHING_LEFT: (
        "チケットの残高がありません。",
        "Nothing is left on this ticket.",
    ),
}

# Restaurants and households alike may use tickets only while active.
ACTIVE = "active"

# A region's program says where its households may use their tickets: at any partner
# restaurant of the region, or only at those their own organisation nominated.
ANY_RESTAURANT_OF_REGION, OWN_ORGANISATION_RESTAURANTS = "region", "own_organisation"
RESTAURANT_SCOPES = (ANY_RESTAURANT_OF_REGION, OWN_ORGANISATION_RESTAURANTS)


@dataclass(frozen=True)
class AtTheCounter:
    """What is known when a card or QR code is shown, before any balance is touched.

    ``household_id`` is None when the card is unknown or blocked or the QR code is not good;
    the restaurant and household fields are None when this service does not know them.
    """

    household_id: str | None
    restaurant_status: str | None
    restaurant_region: str | None
    household_status: str | None
    household_region: str | None
    restaurant_organisation: str | None = None
    household_organisation: str | None = None
    restaurant_scope: str = ANY_RESTAURANT_OF_REGION


def refusal(counter):
    """The first failing check before the ticket itself, or None when all pass."""
    if counter.household_id is None:
        return UNKNOWN_CARD_OR_TOKEN

    if counter.restaurant_status != ACTIVE:
        return RESTAURANT_NOT_ACTIVE

    # A household whose region is not known yet cannot be said to be elsewhere; the
    # household check below refuses it anyway.
    if counter.household_region is not None and \
            counter.household_region != counter.restaurant_region:
        return RESTAURANT_OTHER_REGION

    if counter.restaurant_scope == OWN_ORGANISATION_RESTAURANTS and \
            counter.household_organisation != counter.restaurant_organisation:
        return RESTAURANT_OTHER_ORGANISATION

    if counter.household_status != ACTIVE:
        return HOUSEHOLD_NOT_ACTIVE

    return None


def card_number_ok(digits):
    """The card's last digit checks the others (Luhn), so a mistyped number is caught."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def qr_ticket_refusal(ticket, named_ticket_id, named_period):
    """Why the ticket usable now is not the one a QR code names, or None.

    The code was issued for one ticket: a code of last month's ticket, or of another
    household's, must not pay from this one.
    """
    if ticket.id != named_ticket_id or ticket.period != named_period:
        return QR_TOKEN_WRONG_HOUSEHOLD
    return None


def ticket_refusal(balance_yen):
    """Why the ticket usable now cannot pay: none at all (None) or nothing left on it."""
    if balance_yen is None:
        return OUTSIDE_VALIDITY_WINDOW
    if balance_yen <= 0:
        return NOTHING_LEFT
    return None


@dataclass(frozen=True)
class Split:
    """How one bill is paid: by the ticket, and by the family at the counter."""

    applied_yen: int
    pay_at_counter_yen: int
    balance_yen: int


def split_bill(balance_yen, bill_yen):
    """The ticket pays what it can; the family pays the difference."""
    applied = min(balance_yen, bill_yen)
    return Split(applied, bill_yen - applied, balance_yen - applied)


def applied_messages(split):
    """What the counter shows after a ticket paid: amounts only, nothing about the family."""
    message_ja = (
        f"チケットで{split.applied_yen:,}円をお支払いしました。"
        f"店頭でのお支払い: {split.pay_at_counter_yen:,}円。残高: {split.balance_yen:,}円。"
    )
    message_en = (
        f"¥{split.applied_yen:,} paid by ticket. To pay at the counter:"
        f" ¥{split.pay_at_counter_yen:,}. Left on the ticket: ¥{split.balance_yen:,}."
    )
    return message_ja, message_en


def declined(reason):
    """The counter's answer for a decline."""
    message_ja, message_en = DECLINE_MESSAGES[reason]
    return {"outcome": "declined", "reason": reason,
            "message_ja": message_ja, "message_en": message_en}


def local_date(moment, zone):
    """The calendar day ``moment`` falls on in ``zone`` (never the UTC day)."""
    return moment.astimezone(zone_info(zone)).date()


def window_days(valid_from, valid_until, zone):
    """First and last local day of a half-open window [valid_from, valid_until)."""
    last_instant = valid_until - timedelta(microseconds=1)
    return local_date(valid_from, zone), local_date(last_instant, zone)


@dataclass(frozen=True)
class Month:
    """A local calendar month of a region: its days and the instants that bound it."""

    period: Period
    zone: str

    @property
    def first_day(self):
        return self.period.first_day()

    @property
    def last_day(self):
        return self.period.last_day()

    @property
    def starts_at(self):
        return self.period.starts_at(self.zone)

    @property
    def ends_at(self):
        return self.period.next().starts_at(self.zone)


def usable_at(tickets, moment):
    """The ticket whose window holds ``moment``, if any."""
    for ticket in tickets:
        if ticket.valid_from <= moment < ticket.valid_until:
            return ticket
    return None


def next_upcoming(tickets, moment):
    """The earliest ticket whose window has not begun at ``moment``, if any."""
    upcoming = [ticket for ticket in tickets if ticket.valid_from > moment]
    return min(upcoming, key=lambda ticket: ticket.valid_from, default=None)


# -- voids -----------------------------------------------------------------------------------
#
# A restaurant may void its own redemption (a bill keyed twice, a wrong amount) while the
# program's void window is open and its month's statement is not closed. The window is the
# rest of the redemption's local day by default, or a number of hours (1 to 72) the program
# sets. Checks in order: whose redemption ─ voided already? ─ statement closed? ─ window open?

ALREADY_VOIDED = "already_voided"
STATEMENT_CLOSED = "statement_closed"
VOID_WINDOW_CLOSED = "void_window_closed"

SAME_LOCAL_DAY = 0
MAX_VOID_WINDOW_HOURS = 72


def void_deadline(at, on_local_date, zone, window_hours):
    """The instant after which a redemption made at ``at`` can no longer be voided.

    ``window_hours`` 0 means midnight at the end of its local day, in ``zone``.
    """
    if window_hours == SAME_LOCAL_DAY:
        next_day = on_local_date + timedelta(days=1)
        return datetime.combine(next_day, time(0), tzinfo=zone_info(zone))
    return at + timedelta(hours=window_hours)


@dataclass(frozen=True)
class VoidAsked:
    """What is known about a redemption once its ticket is locked, and the clock read then."""

    already_voided: bool
    statement_closed: bool
    now: datetime
    deadline: datetime


def void_refusal(asked):
    """The first reason a void cannot be done, or None."""
    if asked.already_voided:
        return ALREADY_VOIDED
    if asked.statement_closed:
        return STATEMENT_CLOSED
    if asked.now >= asked.deadline:
        return VOID_WINDOW_CLOSED
    return None


def statement_month(on_local_date):
    """The statement a redemption belongs to: the local month it happened in."""
    return Period(on_local_date.year, on_local_date.month)


# -- closing statements and expiry -----------------------------------------------------------

def month_is_over(period, zone, now):
    """Whether ``period`` has ended in ``zone`` at ``now``: no redemption can join it any more."""
    return now >= Month(period, zone).ends_at


def has_closed(valid_until, now):
    """A ticket's window is half-open: at ``valid_until`` itself it is already closed."""
    return now >= valid_until


# -- care: households that went quiet, and concerns raised at the counter --------------------
#
# An organisation stays connected with its households (伴走支援). A household granted a ticket
# in two consecutive periods that used neither is flagged for the organisation to reach out
# again. Only periods whose windows have ended count: in the period in use a ticket not used
# yet may still be used tomorrow, and flagging on the 1st of the month would be noise.
# A voided redemption is no use: the meal did not happen on the ticket.

UNUSED_TWO_PERIODS = "unused_two_periods"

REACH_OUT_MESSAGES = {
    UNUSED_TWO_PERIODS: (
        "2か月続けてチケットが使われていません。様子を伺ってみてください。",
        "The ticket has not been used for two periods in a row. Consider reaching out.",
    ),
}


def reach_out_reason(granted_last, used_last, granted_before, used_before):
    """Why the organisation should reach out to a household, or None.

    ``*_last`` describe the latest period whose window has ended (see
    :func:`reach_out_periods`), ``*_before`` the period before it.
    """
    if granted_last and granted_before and not used_last and not used_before:
        return UNUSED_TWO_PERIODS
    return None


def reach_out_periods(shown, in_use):
    """The two periods the dormant flag looks at, oldest first: the two most recent periods
    at or before ``shown`` whose windows have ended. A period's window has ended once the
    period after it is the one in use, so for the period in use they are the two before it.
    """
    latest = shown if shown < in_use else previous_period(in_use)
    return previous_period(latest), latest


def period_in_use(now, zone):
    """The issuance period whose tickets are usable at ``now`` in ``zone``: last month's run
    pays for this month's meals."""
    return previous_period(Period.of(now.astimezone(zone_info(zone))))


def previous_period(period):
    if period.month == 1:
        return Period(period.year - 1, 12)
    return Period(period.year, period.month - 1)


# What a restaurant may say a concern is about. Codes, not free text: the category is logged
# and counted, the note (which may describe the child) never is.
CONCERN_CATEGORIES = tuple(vocabulary.CONCERN_CATEGORIES)
MAX_CONCERN_NOTE = 1000
