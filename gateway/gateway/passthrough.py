"""The shapes of bodies and answers the gateway passes through to and from the services.

The services own these shapes and check them (each names every bad field); the gateway does not
load them. They are written out here, from each service's own marshmallow schemas
(``services/<service>/<service>/schemas.py``), for the API document only: the gateway never
imports a service package. When a service changes what it reads or answers, change it here
too; the Schemathesis test (tests/test_api_contract.py) fails when an answer and its
description disagree.

Bodies refuse unknown fields, as the services do. Answers are open (``INCLUDE``): a service may
add a field without breaking a client, and staff answers are not filtered by the gateway. The
answers towards restaurants and the public, which are filtered, are in :mod:`gateway.schemas`.
"""

from marshmallow import INCLUDE, Schema, fields, validate

from shokudo_common.validation import Latitude, Longitude, Text, Yen

# Copied limits and choices of the services (see the module docstring).
PHONE = r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$"
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"
RESTAURANT_FLAGS = ("children_alone_welcome", "allergy_menu", "wheelchair_access", "takeout")
LATE_ENROLMENT = ("grant_now", "next_period")
RESTAURANT_SCOPES = ("region", "own_organisation")
CHANNELS = ("app", "card")
LANGUAGES = ("ja", "en")
NOTIFY_BY = ("email", "sms", "push")
CARD_REPLACEMENT_REASONS = ("lost", "stolen", "damaged", "other")
MAX_HOUSEHOLD_CAP = 10_000
MAX_CHILDREN = 15
MAX_VOID_WINDOW_HOURS = 72


def _count(low, high, **kwargs):
    return fields.Integer(strict=True, validate=validate.Range(low, high), **kwargs)


class Answer(Schema):
    """An answer a service may add fields to."""

    class Meta:
        unknown = INCLUDE


# -- issuance --------------------------------------------------------------------------------

class ProgramBody(Schema):
    """A region's program; left-out fields take the platform's defaults."""

    name = Text(required=True)
    amount_yen = Yen(minimum=1, maximum=100_000, metadata={"default": 3000})
    issue_day = _count(1, 28, metadata={"default": 20})
    time_zone = fields.String(metadata={"description": "an IANA time zone name",
                                        "default": "Asia/Tokyo", "example": "Asia/Tokyo"})
    void_window_hours = _count(0, MAX_VOID_WINDOW_HOURS, metadata={"default": 0})
    late_enrolment = fields.String(validate=validate.OneOf(LATE_ENROLMENT),
                                   metadata={"default": "grant_now"})
    restaurant_scope = fields.String(validate=validate.OneOf(RESTAURANT_SCOPES), metadata={
        "default": "region",
        "description": "where households may use tickets: any partner restaurant of the "
                       "region, or only those their own organisation nominated"})


class Program(Answer):
    region_id = fields.String()
    name = fields.String()
    amount_yen = fields.Integer()
    issue_day = fields.Integer()
    time_zone = fields.String()
    void_window_hours = fields.Integer()
    late_enrolment = fields.String()
    restaurant_scope = fields.String()
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class IssuanceRun(Answer):
    run_id = fields.String()
    region_id = fields.String()
    period = fields.String()
    status = fields.String()
    amount_yen = fields.Integer()
    households = fields.Integer()
    yen_granted = fields.Integer()
    valid_from = fields.String(allow_none=True)
    valid_until = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)


class RosterCount(Schema):
    region_id = fields.String()
    count = fields.Integer()


class RegionSummary(Schema):
    """A month of a region, each part as the service that keeps it reports it."""

    region_id = fields.String()
    month = fields.String()
    enrollment = fields.Dict(metadata={"description": "households per organisation"})
    redemption = fields.Dict(metadata={"description": "yen redeemed, declines by reason"})
    notification = fields.Dict(metadata={"description": "messages sent, failed, skipped"})


class Difference(Answer):
    check = fields.String()
    expected = fields.Dict()
    actual = fields.Dict()
    difference = fields.Integer()


class Accounts(Schema):
    """Grants against tickets for one period."""

    region_id = fields.String()
    period = fields.String()
    balanced = fields.Boolean()
    issuance = fields.Dict()
    redemption = fields.Dict()
    differences = fields.List(fields.Nested(Difference))


# -- enrollment ------------------------------------------------------------------------------

class OrganisationBody(Schema):
    """A support organisation; its region is the one in the path."""

    name = Text(required=True)
    household_cap = _count(1, MAX_HOUSEHOLD_CAP, metadata={"default": 20})
    contact_email = fields.Email(required=True)
    contact_phone = fields.String(required=True, validate=validate.Regexp(PHONE))


class Organisation(Answer):
    id = fields.String()
    region_id = fields.String()
    name = fields.String()
    household_cap = fields.Integer()
    contact_email = fields.String()
    contact_phone = fields.String()
    created_at = fields.String(allow_none=True)


class HouseholdBody(Schema):
    """A household as its organisation describes it: a phone or an email is required.

    Full-width digits and Japanese dashes in phone and postcode are accepted and narrowed.
    """

    external_ref = fields.String(required=True, validate=validate.Length(1, 40),
                                 metadata={"description": "the organisation's 管理番号"})
    guardian_name = Text(required=True, max_length=100)
    guardian_name_kana = fields.String(required=True, validate=validate.Length(1, 100),
                                       metadata={"description": "in kana"})
    phone = fields.String(allow_none=True, metadata={"example": "090-1234-5678"})
    email = fields.Email(allow_none=True)
    postcode = fields.String(allow_none=True, metadata={"example": "123-4567"})
    address = Text(required=True, max_length=300)
    children = _count(1, MAX_CHILDREN, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={"default": "ja"})
    notify_by = fields.String(validate=validate.OneOf(NOTIFY_BY), metadata={
        "default": "email", "description": "how the family prefers to hear from us: sms needs "
        "a phone, push the app; notification falls back to email where it cannot"})


class Household(Answer):
    """A household; on enrolment also its ``activation_code`` (app) or card number (card)."""

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
    notify_by = fields.String()
    status = fields.String()
    app_activated_at = fields.String(allow_none=True)
    enrolled_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    card_number = fields.String(allow_none=True)
    activation_code = fields.String(allow_none=True)
    in_force_at_counter = fields.Boolean(
        metadata={"description": "false: the counter learns of the change with its event"})


class MovedHousehold(Household):
    """The household as its new organisation's, and whether its card must be printed again."""

    card_reprint_needed = fields.Boolean(metadata={
        "description": "true: the household's card names the old organisation; print the"
                       " card sheet again from the new one"})


class CardReplacementBody(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(CARD_REPLACEMENT_REASONS))


class CardReplacement(Answer):
    household_id = fields.String()
    replacement_id = fields.String()
    reason = fields.String()
    old_card_number = fields.String()
    new_card_number = fields.String()
    replaced_by = fields.String()
    replaced_at = fields.String(allow_none=True)
    in_force_at_counter = fields.Boolean()


# -- directory -------------------------------------------------------------------------------

class Span(Schema):
    opens = fields.String(required=True, validate=validate.Regexp(CLOCK),
                          metadata={"example": "11:30"})
    closes = fields.String(required=True, validate=validate.Regexp(CLOCK),
                           metadata={"example": "14:00"})


class OpeningHours(Schema):
    """Each weekday lists its open spans; a day left out or empty is a closed day."""

    mon = fields.List(fields.Nested(Span))
    tue = fields.List(fields.Nested(Span))
    wed = fields.List(fields.Nested(Span))
    thu = fields.List(fields.Nested(Span))
    fri = fields.List(fields.Nested(Span))
    sat = fields.List(fields.Nested(Span))
    sun = fields.List(fields.Nested(Span))


class NominationBody(Schema):
    """A restaurant an organisation trusts; region and organisation come from the path."""

    name = Text(required=True)
    name_kana = Text(required=True, metadata={"description": "in kana"})
    address = Text(required=True, max_length=300)
    area = Text(max_length=100)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    phone = fields.String(required=True, validate=validate.Regexp(PHONE))
    opening_hours = fields.Nested(OpeningHours, required=True)
    flags = fields.List(fields.String(validate=validate.OneOf(RESTAURANT_FLAGS)))


class FlagLabel(Schema):
    """A restaurant's flag: its code, and the words families read for it (directory's)."""

    code = fields.String()
    ja = fields.String()
    en = fields.String()


class Restaurant(Answer):
    """A restaurant as the operator and organisations see it."""

    id = fields.String()
    region_id = fields.String()
    organisation_id = fields.String()
    name = fields.String()
    name_kana = fields.String()
    address = fields.String()
    area = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    phone = fields.String()
    opening_hours = fields.Dict()
    flags = fields.List(fields.String())
    flag_labels = fields.List(fields.Nested(FlagLabel))
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


# -- redemption, for the family's app ---------------------------------------------------------

class QrToken(Schema):
    token = fields.String()
    expires_at = fields.String()
