"""The shapes the gateway can check itself, and the only fields some callers may ever see.

Bodies the services own (a program, an organisation, a household, a nomination) pass through
as JSON objects: the service checks them and names each bad field. What the gateway does check
is what it alone understands (paths, query strings, sign-in, a redemption request), and what
leaves towards restaurants and the public: those answers are dumped through the schemas below,
so a field a service adds later never reaches them by accident.
"""

import re

from marshmallow import (
    INCLUDE, Schema, ValidationError, fields, pre_dump, validate, validates_schema,
)

from shokudo_common import vocabulary
from shokudo_common.errors import InvalidInput
from shokudo_common.validation import (
    Id, Instant, Latitude, Longitude, RegionId, Text, Yen, shared,
)

from gateway import auth, passthrough

# As shokudo_common.periods reads them: a month of the years 2000 to 2999.
PERIOD = re.compile(r"^2\d{3}-(0[1-9]|1[0-2])$")
CARD_SEPARATORS = re.compile(r"[\s-]")
# Printable ASCII, space included: what a till or a browser can put in a header as it is.
IDEMPOTENCY_KEY = re.compile(r"^[ -~]{1,100}$")


class PeriodText(fields.String):
    """A calendar month, ``2026-03``."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(PERIOD, error="must be a month, YYYY-MM"),
                         **kwargs)


class CardNumber(fields.String):
    """A card's 16 digits, which staff may type in groups.

    Only the shape is checked here; whether the check digit holds, and what a misread card
    earns, is the redemption service's rule.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        digits = CARD_SEPARATORS.sub("", super()._deserialize(value, attr, data, **kwargs))
        if not re.fullmatch(r"\d{16}", digits):
            raise ValidationError("must be the 16 digits printed on the card")
        return digits


class IdempotencyKey(fields.String):
    """The key a client gives a request it may send again: 1 to 100 printable ASCII characters."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(
            IDEMPOTENCY_KEY, error="must be 1 to 100 printable ASCII characters"), **kwargs)


# -- paths -----------------------------------------------------------------------------------

# Path ids that are malformed name nothing that exists: they get the unknown-id 404.
PATH_IDS = ("region_id", "organisation_id", "restaurant_id", "household_id", "redemption_id",
            "concern_id")


class PathValues(Schema):
    region_id = RegionId()
    organisation_id = Id()
    restaurant_id = Id()
    household_id = Id()
    redemption_id = Id()
    concern_id = Id()
    period = PeriodText()
    month = PeriodText()


def parse_path(values):
    """The path values of a route, checked: a bad id is a 404, a bad month a 422."""
    try:
        return shared(PathValues).load(values)
    except ValidationError as error:
        for name in PATH_IDS:
            if name in error.messages:
                raise auth.not_found(name, values[name]) from None
        raise InvalidInput(
            "invalid_input", "some path values are wrong: " + ", ".join(sorted(error.messages)),
            {"fields": error.messages},
        ) from None


# -- requests --------------------------------------------------------------------------------

class SignIn(Schema):
    login = Text(required=True, max_length=200)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class RefreshRequest(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Activation(Schema):
    activation_code = Text(required=True, max_length=64)


class RunRequest(Schema):
    period = PeriodText(required=True)


class Suspension(Schema):
    reason = Text(required=True, max_length=500, multiline=True)


class RedemptionRequest(Schema):
    """A bill to pay with a ticket, shown as a card or as the app's QR code."""

    bill_yen = Yen(required=True, minimum=1)
    card_number = CardNumber()
    qr_token = fields.String(validate=validate.Length(min=1, max=4096))
    # The same key from the same restaurant gets the first answer again (a till that retried).
    idempotency_key = IdempotencyKey()

    @validates_schema
    def one_ticket(self, data, **kwargs):
        given = [name for name in ("card_number", "qr_token") if name in data]
        if len(given) != 1:
            raise ValidationError("give either card_number or qr_token, exactly one",
                                  "card_number")


class IdempotencyHeader(Schema):
    key = IdempotencyKey(data_key="Idempotency-Key")


class MonthQuery(Schema):
    month = PeriodText(required=True)


class HouseholdQuery(Schema):
    # Which statuses exist is enrollment's rule; it names a wrong one.
    status = fields.String(validate=validate.Length(min=1, max=20))


class ImportQuery(Schema):
    dry_run = fields.Boolean(load_default=False)


# -- answers that must not carry more than they say ----------------------------------------

class Tokens(Schema):
    """A session's tokens: the access token for each request, the refresh token to renew it."""

    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    refresh_token = fields.String()
    refresh_expires_at = fields.String()
    role = fields.String()


class StaffTokens(Tokens):
    organisation_id = fields.String()
    restaurant_id = fields.String()
    # Operators only: the regions they may act in, empty for every region.
    region_ids = fields.List(fields.String())


class DeviceTokens(Tokens):
    household_id = fields.String()
    region_id = fields.String()
    organisation_id = fields.String()


class SignedOut(Schema):
    signed_out = fields.Boolean()


class NewActivationCode(Schema):
    """A household's new code; every app activated before it must be activated again."""

    household_id = fields.String(attribute="id")
    activation_code = fields.String()
    activation_code_expires_at = fields.String()
    apps_signed_out = fields.Integer()


class RedemptionAnswer(Schema):
    """What the counter sees: the outcome and the money, never who the household is.

    A decline (``outcome: declined``) is an answer, not an error: it has a ``reason`` and the
    messages to read out, and no redemption.
    """

    outcome = fields.String(validate=validate.OneOf(("applied", "declined")))
    redemption_id = fields.String(allow_none=True)
    bill_yen = fields.Integer()
    applied_yen = fields.Integer(allow_none=True)
    pay_at_counter_yen = fields.Integer(allow_none=True)
    balance_yen = fields.Integer(allow_none=True)
    valid_until = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    message_ja = fields.String(allow_none=True)
    message_en = fields.String(allow_none=True)


class VoidAnswer(Schema):
    """What the counter sees after a void: the yen given back, nothing about the household."""

    outcome = fields.String()
    redemption_id = fields.String()
    void_id = fields.String()
    voided_yen = fields.Integer()
    balance_yen = fields.Integer()
    at = fields.String()


class ClosedStatement(Schema):
    restaurant_id = fields.String()
    month = fields.String()
    closed_at = fields.String()
    closed_by = fields.String()
    redemptions = fields.Integer()
    voids = fields.Integer()
    total_yen = fields.Integer()


class StatementLine(Schema):
    redemption_id = fields.String()
    at = fields.String()
    local_date = fields.String()
    bill_yen = fields.Integer()
    applied_yen = fields.Integer()
    pay_at_counter_yen = fields.Integer()


class Statement(Schema):
    """A restaurant's month, line by line, for settling with the operator."""

    restaurant_id = fields.String()
    restaurant_name = fields.String()
    month = fields.String()
    redemptions = fields.Integer()
    # Voided redemptions are not in the lines nor in the totals; this says how many there were.
    voids = fields.Integer()
    total_yen = fields.Integer()
    pay_at_counter_yen = fields.Integer()
    closed = fields.Boolean()
    closed_at = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(StatementLine))


class PublicRestaurant(Schema):
    """A partner restaurant as families and the public find it."""

    id = fields.String()
    region_id = fields.String()
    name = fields.String()
    name_kana = fields.String()
    address = fields.String()
    area = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    phone = fields.String()
    opening_hours = fields.Dict()
    flags = fields.List(fields.String())
    flag_labels = fields.List(fields.Nested(passthrough.FlagLabel))


# -- support organisations: spreadsheets, cards and letters ----------------------------------

class CardBlockBody(Schema):
    # Which reasons exist is enrollment's rule; it names a wrong one.
    reason = fields.String(required=True, validate=validate.Length(min=1, max=20))


class CardSheetQuery(Schema):
    # Without it, every active card household of the organisation.
    household_id = Id()


class Bilingual(Schema):
    """A message in Japanese, with English alongside."""

    ja = fields.String()
    en = fields.String()


class ImportReason(Bilingual):
    """Why a line was rejected, for one column of the file (None: the whole line)."""

    column = fields.String(allow_none=True)


class ImportLine(Schema):
    line = fields.Integer()
    external_ref = fields.String()
    outcome = fields.String(validate=validate.OneOf(
        ("created", "updated", "unchanged", "rejected")))
    household_id = fields.String()
    code = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    reasons = fields.List(fields.Nested(ImportReason))
    changed = fields.List(fields.String())
    activation_code = fields.String()
    activation_code_expires_at = fields.String()
    card_number = fields.String()


class ImportCap(Schema):
    household_cap = fields.Integer()
    active_before = fields.Integer()
    active_after = fields.Integer()
    lines_over_cap = fields.Integer()
    message = fields.Nested(Bilingual)


class ImportReport(Schema):
    """A spreadsheet import, or its dry run, line by line."""

    dry_run = fields.Boolean()
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())
    cap = fields.Nested(ImportCap)
    columns = fields.Dict(keys=fields.String(), values=fields.String())
    rows = fields.List(fields.Nested(ImportLine))


class OrganisationHousehold(Schema):
    """A household as its own organisation sees it, after a change of its card."""

    id = fields.String()
    organisation_id = fields.String()
    region_id = fields.String()
    external_ref = fields.String()
    guardian_name = fields.String()
    guardian_name_kana = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    address = fields.String()
    children = fields.Integer()
    channel = fields.String()
    language = fields.String()
    status = fields.String()
    card_number = fields.String(allow_none=True)
    app_activated_at = fields.String(allow_none=True)
    enrolled_at = fields.String()
    updated_at = fields.String()


class CardBlockAnswer(OrganisationHousehold):
    blocked_card_number = fields.String()
    block_reason = fields.String()
    in_force_at_counter = fields.Boolean()


# -- the access trail of personal data ---------------------------------------------------------

class AccessReasonHeader(Schema):
    """Why staff open a household's records, in their words: up to 200 characters.

    Sent percent-encoded (UTF-8) so that Japanese travels in a header; plain ASCII as it is.
    """

    reason = Text(data_key="X-Access-Reason", max_length=200)


class TrailQuery(Schema):
    """A page of the trail, narrowed by household and time; ``after`` is the last record id
    of the page before."""

    household_id = Id()
    since = Instant()
    until = Instant()
    after = fields.Integer(validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AccessRecord(Schema):
    """Who read or changed which households' personal data, when and why: names, no values."""

    record_id = fields.Integer()
    at = fields.String()
    organisation_id = fields.String()
    region_id = fields.String()
    actor = fields.String()
    purpose = fields.String()
    reason = fields.String(allow_none=True)
    action = fields.String()
    household_ids = fields.List(fields.String())
    # Named ``fields`` in the answer; the attribute would hide marshmallow's module here.
    field_names = fields.List(fields.String(), attribute="fields", data_key="fields")
    correlation_id = fields.String(allow_none=True)


class TrailPage(Schema):
    records = fields.List(fields.Nested(AccessRecord))
    # Ask again with ``after`` set to this for the next page; null on the last page.
    next_after = fields.Integer(allow_none=True)


# -- care: usage, concerns, moves, the counter's day, the family's own ticket -----------------

CONCERN_CATEGORIES = tuple(vocabulary.CONCERN_CATEGORIES)


class UsageQuery(Schema):
    period = PeriodText()
    reach_out = fields.Boolean(load_default=False)


class HouseholdUsage(Schema):
    household_id = fields.String()
    external_ref = fields.String(allow_none=True)
    status = fields.String()
    granted_yen = fields.Integer()
    used_yen = fields.Integer()
    left_yen = fields.Integer()
    expired_yen = fields.Integer()
    last_day = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True)
    reach_out = fields.Boolean()
    reach_out_reason = fields.String(allow_none=True)
    reach_out_message_ja = fields.String(allow_none=True)
    reach_out_message_en = fields.String(allow_none=True)


class UsageAnswer(Schema):
    """An organisation's households this period; ``period`` is the tickets' issuance month."""

    organisation_id = fields.String()
    period = fields.String()
    time_zone = fields.String()
    reach_out_periods = fields.List(fields.String(), metadata={
        "description": "the two periods the reach-out flag looks at, oldest first: the latest"
                       " whose windows have ended"})
    households = fields.List(fields.Nested(HouseholdUsage))


class MoveRequest(Schema):
    to_organisation_id = Id(required=True)


class ConcernQuery(Schema):
    status = fields.String(validate=validate.OneOf(("open", "acknowledged", "closed")))


class Labelled(Schema):
    """An answer with a concern's category: the code, and the words staff read for it."""

    @pre_dump
    def category_in_words(self, data, **kwargs):
        return {**data, "category_label": vocabulary.concern_category_label(data["category"])}


class OrganisationConcern(Labelled):
    """A concern as the organisation that referred the household sees it; instants in the
    region's local time (with their offset)."""

    concern_id = fields.String()
    household_id = fields.String()
    external_ref = fields.String(allow_none=True)
    restaurant_id = fields.String()
    restaurant_name = fields.String(allow_none=True, metadata={
        "description": "null for a concern kept before the name travelled with it"})
    redemption_id = fields.String()
    category = fields.String()
    category_label = fields.Nested(Bilingual)
    note = fields.String()
    status = fields.String()
    raised_at = fields.String()
    acknowledged_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)


class ConcernRequest(Schema):
    category = fields.String(required=True, validate=validate.OneOf(CONCERN_CATEGORIES))
    note = Text(max_length=1000, required=True, multiline=True)


class RestaurantConcern(Labelled):
    """A concern as the restaurant that raised it sees it: its status, never the household."""

    concern_id = fields.String()
    redemption_id = fields.String()
    category = fields.String()
    category_label = fields.Nested(Bilingual)
    status = fields.String()
    raised_at = fields.String()


class DayQuery(Schema):
    date = fields.Date()


class CounterLine(Schema):
    redemption_id = fields.String()
    at = fields.String()
    bill_yen = fields.Integer()
    applied_yen = fields.Integer()
    pay_at_counter_yen = fields.Integer()
    voided = fields.Boolean()
    voided_at = fields.String(allow_none=True)


class CounterDay(Schema):
    """A restaurant's day at the counter: times and money, no household."""

    restaurant_id = fields.String()
    restaurant_name = fields.String()
    date = fields.String()
    redemptions = fields.Integer()
    voids = fields.Integer()
    applied_yen = fields.Integer()
    pay_at_counter_yen = fields.Integer()
    lines = fields.List(fields.Nested(CounterLine))


class MyTicketWindow(Schema):
    ticket_id = fields.String()
    period = fields.String()
    amount_yen = fields.Integer()
    balance_yen = fields.Integer()
    time_zone = fields.String()
    valid_from = fields.String()
    valid_until = fields.String()
    first_day = fields.String()
    last_day = fields.String()


class MyTicket(Schema):
    """The family's balance: what is left and the last local day it can be used (inclusive)."""

    household_id = fields.String()
    has_usable_ticket = fields.Boolean()
    balance_yen = fields.Integer()
    last_day = fields.String(allow_none=True)
    ticket = fields.Nested(MyTicketWindow, allow_none=True)
    next_ticket = fields.Nested(MyTicketWindow, allow_none=True)


class MyMeal(Schema):
    redemption_id = fields.String()
    at = fields.String()
    local_date = fields.String()
    restaurant_id = fields.String()
    restaurant_name = fields.String(allow_none=True)
    bill_yen = fields.Integer()
    applied_yen = fields.Integer()
    pay_at_counter_yen = fields.Integer()
    balance_yen = fields.Integer()
    voided = fields.Boolean()
    voided_at = fields.String(allow_none=True)


PUSH_PLATFORMS = ("ios", "android")


class PushTokenRequest(Schema):
    """The device the family's app registers for push messages."""

    token = fields.String(required=True, validate=[
        validate.Length(min=1, max=4096),
        validate.Regexp(r"^\S+$", error="must be the device token, without spaces"),
    ], metadata={"description": "the token the platform's push service gave the app"})
    platform = fields.String(required=True, validate=validate.OneOf(PUSH_PLATFORMS))


class PushDevice(Schema):
    """The device now registered; the token itself is not repeated."""

    household_id = fields.String()
    platform = fields.String()
    registered_at = fields.String()


class MyHistory(Schema):
    household_id = fields.String()
    redemptions = fields.List(fields.Nested(MyMeal))


# -- finding a partner restaurant -----------------------------------------------------------

FLAG_NAME = re.compile(r"^[a-z_]{1,40}$")


class FlagList(fields.String):
    """``children_alone_welcome,allergy_menu``: which flags exist is the directory's rule."""

    def _deserialize(self, value, attr, data, **kwargs):
        names = [name.strip() for name in super()._deserialize(value, attr, data, **kwargs)
                 .split(",") if name.strip()]
        if not all(FLAG_NAME.fullmatch(name) for name in names):
            raise ValidationError("must be flag names separated by commas")
        return names


class NearbyQuery(Schema):
    """``?lat=35.70&lon=139.70&radius_m=1500&open_now=true&q=みどり&flags=allergy_menu``."""

    lat = Latitude(required=True)
    lon = Longitude(required=True)
    radius_m = fields.Integer(validate=validate.Range(1, 20_000),
                              metadata={"description": "metres, 2000 unless given"})
    open_now = fields.Boolean(load_default=False)
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "name, kana, area or address"})
    flags = FlagList(metadata={
        "description": "flags separated by commas, every one must hold: "
                       + ", ".join(passthrough.RESTAURANT_FLAGS),
        "example": "allergy_menu,takeout"})
    limit = fields.Integer(validate=validate.Range(1, 100),
                           metadata={"description": "20 unless given"})


class NearbyRestaurant(PublicRestaurant):
    distance_m = fields.Integer()
    open_now = fields.Boolean()


class NearbyAnswer(Schema):
    """Nearest first; ``local_time`` is the moment "open now" was judged at, in the region."""

    region_id = fields.String()
    time_zone = fields.String()
    local_time = fields.String()
    restaurants = fields.List(fields.Nested(NearbyRestaurant))


# -- answers of the gateway's own --------------------------------------------------------------

class FieldError(Schema):
    field = fields.String(metadata={"description": "dotted path; `body` for the whole body",
                                    "example": "opening_hours.mon.0.opens"})
    message = fields.String()


class Problem(Schema):
    """Every error: problem details (RFC 9457), ``application/problem+json``."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"example": "urn:shokudo:problem:invalid_input"})
    title = fields.String(required=True, metadata={"description": "the code in English words"})
    title_ja = fields.String(required=True, metadata={
        "description": "the code in Japanese words (見出し), shown first to people",
        "example": "入力内容に誤りがあります"})
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "stable; act on this"})
    correlation_id = fields.String(required=True,
                                   metadata={"description": "quote it when reporting"})
    errors = fields.List(fields.Nested(FieldError),
                         metadata={"description": "each bad field, on validation errors"})
    details = fields.Dict(metadata={"description": "limits, ids, retry hints"})
