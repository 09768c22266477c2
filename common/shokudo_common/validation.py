"""marshmallow at the edge of every service: bad input becomes one structured InvalidInput."""

import re

from marshmallow import ValidationError, fields, validate

from shokudo_common.errors import InvalidInput


def load(schema, data, **kwargs):
    """Validate ``data`` with ``schema``; on failure name every bad field and why."""
    if not isinstance(data, dict):
        raise InvalidInput("invalid_input", "the request body must be a JSON object")
    try:
        return schema.load(data, **kwargs)
    except ValidationError as error:
        raise InvalidInput(
            "invalid_input",
            "some fields are missing or wrong: " + ", ".join(sorted(_paths(error.messages))),
            {"fields": error.messages},
        ) from None


def _paths(messages, prefix=""):
    if not isinstance(messages, dict):
        return [prefix.rstrip(".") or "body"]
    paths = []
    for key, value in messages.items():
        paths.extend(_paths(value, f"{prefix}{key}."))
    return paths


def not_blank(value):
    if not value.strip():
        raise ValidationError("must not be blank")


class Text(fields.String):
    """A non-blank string of bounded length with surrounding spaces removed."""

    def __init__(self, max_length=200, **kwargs):
        validators = [validate.Length(min=1, max=max_length), not_blank]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Yen(fields.Integer):
    """Whole yen, never negative, within what a meal ticket could ever hold."""

    def __init__(self, minimum=0, maximum=1_000_000, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=maximum),
                         **kwargs)


REGION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class RegionId(fields.String):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(
            REGION_ID, error="must be lower-case letters, digits and hyphens"), **kwargs)


class Id(fields.String):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(UUID, error="must be an id (UUID)"), **kwargs)
