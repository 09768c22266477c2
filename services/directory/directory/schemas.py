"""What the directory accepts and returns over RPC."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates

from shokudo_common.validation import Id, RegionId, Text

CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PHONE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
FLAGS = ("children_alone_welcome", "allergy_menu", "wheelchair_access", "takeout")


class Span(Schema):
    opens = fields.String(required=True, validate=validate.Regexp(CLOCK, error="HH:MM"))
    closes = fields.String(required=True, validate=validate.Regexp(CLOCK, error="HH:MM"))


class OpeningHours(Schema):
    """Each weekday lists its open spans; a day left out or empty is a closed day."""

    mon = fields.List(fields.Nested(Span), load_default=list)
    tue = fields.List(fields.Nested(Span), load_default=list)
    wed = fields.List(fields.Nested(Span), load_default=list)
    thu = fields.List(fields.Nested(Span), load_default=list)
    fri = fields.List(fields.Nested(Span), load_default=list)
    sat = fields.List(fields.Nested(Span), load_default=list)
    sun = fields.List(fields.Nested(Span), load_default=list)



class RestaurantDetails(Schema):
    """The fields a nomination sets and an update may change."""

    name = Text(required=True)
    name_kana = Text(required=True)
    address = Text(required=True, max_length=300)
    area = Text(load_default="", max_length=100)
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    phone = fields.String(required=True, validate=validate.Regexp(
        PHONE, error="must be a Japanese phone number such as 03-1234-5678"))
    opening_hours = fields.Nested(OpeningHours, required=True)
    flags = fields.List(fields.String(validate=validate.OneOf(FLAGS)), load_default=list)

    @validates("name_kana")
    def kana_only(self, value, **kwargs):
        if not re.fullmatch(r"[\u3040-\u30ff\u30fc\s・ー０-９0-9]+", value):
            raise ValidationError("must be written in kana")


class Nomination(RestaurantDetails):
    region_id = RegionId(required=True)
    organisation_id = Id(required=True)


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
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
