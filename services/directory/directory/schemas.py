"""What the directory accepts and returns over RPC."""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema,
)

from shokudo_common.validation import Id, Latitude, Longitude, RegionId, Text

from directory import hours
from directory.flags import FLAGS, labels

CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PHONE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
MAX_RADIUS_M = 20_000
MAX_RESULTS = 100


class Span(Schema):
    opens = fields.String(required=True, validate=validate.Regexp(CLOCK, error="HH:MM"))
    closes = fields.String(required=True, validate=validate.Regexp(CLOCK, error="HH:MM"))


class OpeningHours(Schema):
    """Each weekday lists its open spans; a day left out or empty is a closed day.

    The format and what a span past midnight means: :mod:`directory.hours`.
    """

    mon = fields.List(fields.Nested(Span), load_default=list)
    tue = fields.List(fields.Nested(Span), load_default=list)
    wed = fields.List(fields.Nested(Span), load_default=list)
    thu = fields.List(fields.Nested(Span), load_default=list)
    fri = fields.List(fields.Nested(Span), load_default=list)
    sat = fields.List(fields.Nested(Span), load_default=list)
    sun = fields.List(fields.Nested(Span), load_default=list)

    @validates_schema
    def spans_make_sense(self, data, **kwargs):
        found = hours.problems(data)
        if found:
            raise ValidationError(found)


class RestaurantDetails(Schema):
    """The fields a nomination sets and an update may change."""

    name = Text(required=True)
    name_kana = Text(required=True)
    address = Text(required=True, max_length=300)
    area = Text(load_default="", max_length=100)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    phone = fields.String(required=True, validate=validate.Regexp(
        PHONE, error="must be a Japanese phone number such as 03-1234-5678"))
    opening_hours = fields.Nested(OpeningHours, required=True)
    flags = fields.List(fields.String(validate=validate.OneOf(tuple(FLAGS))),
                        load_default=list)

    @validates("name_kana")
    def kana_only(self, value, **kwargs):
        if not re.fullmatch(r"[\u3040-\u30ff\u30fc\s・ー０-９0-9]+", value):
            raise ValidationError("must be written in kana")


class Nomination(RestaurantDetails):
    region_id = RegionId(required=True)
    organisation_id = Id(required=True)


def _flag_labels(restaurant):
    return labels(restaurant.flags or [])


class RestaurantOut(Schema):
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
    flag_labels = fields.Function(_flag_labels)
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def known_time_zone(name):
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("must be an IANA time zone such as Asia/Tokyo") from None


class ProgramFact(Schema):
    """The part of issuance's ``program_updated`` that the directory keeps: the time zone and
    the program's name (a fact from before the name travelled has none)."""

    class Meta:
        unknown = EXCLUDE

    region_id = RegionId(required=True)
    time_zone = fields.String(required=True, validate=known_time_zone)
    name = Text(load_default=None)


class NearbySearch(Schema):
    """A family looking for somewhere to eat near where it stands."""

    region_id = RegionId(required=True)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    radius_m = fields.Integer(strict=True, load_default=2000,
                              validate=validate.Range(1, MAX_RADIUS_M))
    open_now = fields.Boolean(load_default=False)
    q = fields.String(load_default="", validate=validate.Length(max=100))
    flags = fields.List(fields.String(validate=validate.OneOf(tuple(FLAGS))),
                        load_default=list, validate=validate.Length(max=len(FLAGS)))
    limit = fields.Integer(strict=True, load_default=20, validate=validate.Range(1, MAX_RESULTS))


class NearbyRestaurant(Schema):
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
    flag_labels = fields.Function(lambda row: labels(row["flags"]))
    open_now = fields.Boolean()
    distance_m = fields.Function(lambda row: round(row["distance_m"]))
