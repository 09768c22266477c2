"""What redemption accepts and returns over RPC.

Instants go out in the ticket's or region's own time zone, with their offset, so that a
restaurant or a family reads the local time they lived it in.
"""

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shokudo_common.periods import Period, zone_info
from shokudo_common.validation import Id, RegionId, Text, Yen

from redemption.domain import (
    ANY_RESTAURANT_OF_REGION, CONCERN_CATEGORIES, MAX_CONCERN_NOTE, MAX_VOID_WINDOW_HOURS,
    RESTAURANT_SCOPES, window_days,
)

SEPARATORS = re.compile(r"[\s-]")


class CardNumber(fields.String):
    """Sixteen digits, spaces or hyphens between groups allowed.

    Only the shape is checked here: a number whose check digit is wrong is a misread card,
    which the counter declines (``card_number_invalid``) rather than an error of the till.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        digits = SEPARATORS.sub("", super()._deserialize(value, attr, data, **kwargs))
        if not re.fullmatch(r"\d{16}", digits):
            raise ValidationError("must be the 16 digits printed on the card")
        return digits


class MonthField(fields.String):
    """A calendar month such as 2027-03."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return Period.parse(text)
        except ValueError:
            raise ValidationError("must be a month such as 2027-03") from None


class RedeemRequest(Schema):
    """A bill at a restaurant's counter and the card or QR code shown for it."""

    restaurant_id = Id(required=True)
    bill_yen = Yen(minimum=1, maximum=1_000_000, required=True)
    card_number = CardNumber()
    qr_token = fields.String(validate=validate.Length(min=1, max=4096))
    # Optional: the same key from the same restaurant gets the first answer again.
    idempotency_key = fields.String(validate=validate.Length(min=1, max=100))

    # Judged on what was sent, so a mistyped card number next to a token still counts as
    # both, and every bad field is named in one answer.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def one_way_to_pay(self, data, original, **kwargs):
        given = [name for name in ("card_number", "qr_token")
                 if isinstance(original, dict) and original.get(name) is not None]
        if len(given) == 1:
            return
        message = ("give either card_number or qr_token, not both" if given
                   else "give card_number or qr_token")
        raise ValidationError({"card_number": [message], "qr_token": [message]})


def known_time_zone(name):
    try:
        zone_info(name)
    except ValueError:
        raise ValidationError("must be a time zone name such as Asia/Tokyo") from None


class VoidRequest(Schema):
    """A restaurant undoing one of its redemptions."""

    restaurant_id = Id(required=True)
    redemption_id = Id(required=True)
    # The gateway's key, already scoped by the caller (``restaurant:<id>:<key>``).
    idempotency_key = fields.String(validate=validate.Length(min=1, max=200),
                                    load_default=None)


class ProgramFact(Schema):
    """The part of issuance's ``program_updated`` that redemption keeps."""

    class Meta:
        unknown = EXCLUDE

    region_id = RegionId(required=True)
    time_zone = fields.String(required=True, validate=known_time_zone)
    void_window_hours = fields.Integer(strict=True, required=True,
                                       validate=validate.Range(0, MAX_VOID_WINDOW_HOURS))
    # Facts published before the setting existed mean the region's default.
    restaurant_scope = fields.String(load_default=ANY_RESTAURANT_OF_REGION,
                                     validate=validate.OneOf(RESTAURANT_SCOPES))


class HouseholdRef(Schema):
    household_id = Id(required=True)


class StatementRequest(Schema):
    restaurant_id = Id(required=True)
    month = MonthField(required=True)


class SummaryRequest(Schema):
    region_id = RegionId(required=True)
    month = MonthField(required=True)


class AccountsRequest(Schema):
    region_id = RegionId(required=True)
    period = MonthField(required=True)


class UsageRequest(Schema):
    """An organisation's households this period (by default the one whose tickets are in use)."""

    organisation_id = Id(required=True)
    region_id = RegionId(required=True)
    period = MonthField(load_default=None, allow_none=True)
    reach_out_only = fields.Boolean(load_default=False)


class DayRequest(Schema):
    """A restaurant's redemptions of one local day (today by default)."""

    restaurant_id = Id(required=True)
    date = fields.Date(load_default=None, allow_none=True)


class ConcernRequest(Schema):
    """A restaurant noticing something about the child of one of its redemptions."""

    restaurant_id = Id(required=True)
    redemption_id = Id(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CONCERN_CATEGORIES))
    note = Text(max_length=MAX_CONCERN_NOTE, required=True, multiline=True)
    # The gateway's key, already scoped by the caller (``restaurant:<id>:<key>``).
    idempotency_key = fields.String(validate=validate.Length(min=1, max=200),
                                    load_default=None)


def local_instant(moment, zone):
    return moment.astimezone(zone_info(zone)).isoformat()


class TicketOut(Schema):
    """A ticket as its household sees it: amounts and the local days it can be used."""

    ticket_id = fields.String(attribute="id")
    period = fields.String()
    amount_yen = fields.Integer()
    balance_yen = fields.Integer()
    time_zone = fields.String()
    valid_from = fields.Method("local_valid_from")
    valid_until = fields.Method("local_valid_until")
    first_day = fields.Method("first_local_day")
    last_day = fields.Method("last_local_day")

    def local_valid_from(self, ticket):
        return local_instant(ticket.valid_from, ticket.time_zone)

    def local_valid_until(self, ticket):
        return local_instant(ticket.valid_until, ticket.time_zone)

    def first_local_day(self, ticket):
        return window_days(ticket.valid_from, ticket.valid_until, ticket.time_zone)[0].isoformat()

    def last_local_day(self, ticket):
        return window_days(ticket.valid_from, ticket.valid_until, ticket.time_zone)[1].isoformat()
