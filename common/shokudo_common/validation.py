"""marshmallow at the edge of every service: bad input becomes one structured InvalidInput.

Input comes from browsers, tills and spreadsheets, some of it hostile. Before any schema runs,
every string of the input is checked for characters no field of ours ever needs and that
break things further on: NUL (PostgreSQL refuses it), other control characters, lone
surrogates (not Unicode, cannot be stored or logged) and the bidirectional controls that make
text display as something else than it is (Trojan Source). Line breaks and tabs are left to
each field. :class:`Text` (names, addresses, notes) also refuses unassigned, private-use and
invisible format characters, and takes text that shows nothing as blank.
"""

import functools
import re
import unicodedata
from datetime import timedelta

from marshmallow import ValidationError, fields, validate

from shokudo_common.errors import InvalidInput


@functools.cache
def shared(schema_class, **options):
    """One instance of ``schema_class(**options)`` for the whole process, for the busiest
    paths (``options`` must be hashable: ``many=True``, not a list of fields).

    Building a schema copies each of its declared fields (0.02-0.14 ms here, more than the
    load itself); a schema keeps no state between loads and dumps (marshmallow 4 has no
    context), so one instance serves every worker.
    """
    return schema_class(**options)


def load(schema, data, **kwargs):
    """Validate ``data`` with ``schema``; on failure name every bad field and why."""
    if not isinstance(data, dict):
        raise InvalidInput("invalid_input", "the request body must be a JSON object",
                           {"fields": {"body": ["must be a JSON object"]}})
    hostile = hostile_text(data)
    if hostile:
        _refuse(hostile)
    try:
        return schema.load(data, **kwargs)
    except ValidationError as error:
        _refuse(error.messages)


def _refuse(messages):
    raise InvalidInput(
        "invalid_input",
        "some fields are missing or wrong: " + ", ".join(sorted(_paths(messages))),
        {"fields": messages},
    ) from None


# C0 controls but tab, line feed and carriage return; DEL and the C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
# Embeddings, overrides and isolates, which reorder how the text around them is displayed.
BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")

HOSTILE = (
    (CONTROL, "must not contain control characters"),
    (SURROGATE, "must not contain lone surrogates (not Unicode text)"),
    (BIDI_CONTROL, "must not contain bidirectional control characters"),
)


def hostile_text(data):
    """marshmallow-shaped messages for each string in ``data`` (keys too) that is unsafe."""
    if isinstance(data, str):
        return [message for pattern, message in HOSTILE if pattern.search(data)]
    if isinstance(data, dict):
        found = {}
        for key, value in data.items():
            messages = hostile_text(key) if isinstance(key, str) else []
            if messages:
                found[_printable(key)] = messages
            elif inner := hostile_text(value):
                found[key] = inner
        return found
    if isinstance(data, (list, tuple)):
        return {index: inner for index, item in enumerate(data) if (inner := hostile_text(item))}
    return []


def _printable(key):
    # A bad key is named in the answer, so name it in a form that is safe to print.
    return key.encode("unicode_escape").decode("ascii")


def _paths(messages, prefix=""):
    if not isinstance(messages, dict):
        return [prefix.rstrip(".") or "body"]
    paths = []
    for key, value in messages.items():
        paths.extend(_paths(value, f"{prefix}{key}."))
    return paths


# Letters that display as nothing (Hangul fillers, the blank braille pattern): a "name" made of
# them looks empty on every screen.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format characters text needs: the zero-width joiner inside emoji sequences (and some names).
# Variation selectors are combining marks (Mn), not format characters, so they pass as well.
KEPT_FORMAT = frozenset("\u200d")


def not_blank(value):
    """Refuse text that shows nothing: empty once spaces and invisible characters are gone."""
    if all(_invisible(character) for character in value):
        raise ValidationError("must not be blank")


def _invisible(character):
    category = unicodedata.category(character)
    return (character.isspace() or character in INVISIBLE_LETTERS
            or category in ("Cf", "Mn", "Me", "Cc"))


def assigned_and_visible(value):
    """Refuse characters no one can read or check: unassigned code points and noncharacters
    (Cn), private use (Co), and invisible format characters (Cf: zero-width space, BOM, word
    joiner, tag characters...) but the zero-width joiner."""
    for character in value:
        category = unicodedata.category(character)
        if category in ("Cn", "Co"):
            raise ValidationError(f"must not contain U+{ord(character):04X}, an unassigned, "
                                  "private-use or non-character code point")
        if category == "Cf" and character not in KEPT_FORMAT:
            raise ValidationError(f"must not contain U+{ord(character):04X}, an invisible "
                                  "format character")


def one_line(value):
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValidationError("must be one line, without line breaks or tabs")


class Text(fields.String):
    """A non-blank line (or lines, if ``multiline``) of bounded length, surrounding spaces
    removed, in Unicode NFC, of assigned, visible characters.

    NFC makes the same name typed on two systems (a precomposed が or か followed by a
    combining mark) the same text, so that it compares, sorts and counts its length alike.
    """

    def __init__(self, max_length=200, multiline=False, **kwargs):
        validators = [validate.Length(min=1, max=max_length), not_blank, assigned_and_visible]
        if not multiline:
            validators.append(one_line)
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return unicodedata.normalize("NFC", text).strip()


class Yen(fields.Integer):
    """Whole yen, never negative, within what a meal ticket could ever hold.

    Strict: a string, a fraction (even 1.0) and a boolean are refused, not converted.
    """

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


# Offsets in use on Earth run from -12:00 to +14:00; PostgreSQL refuses beyond ±15:59.
MAX_OFFSET = timedelta(hours=14)


class Instant(fields.AwareDateTime):
    """A moment with its offset, as ISO 8601, in the years 2000 to 2999 and a real offset.

    Anything wider (year 0296, an offset of -22:50) would be refused by PostgreSQL further on,
    as a 500; this says so as a 422 naming the field.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= moment.year <= 2999:
            raise ValidationError("must be in the years 2000 to 2999")
        if abs(moment.utcoffset()) > MAX_OFFSET:
            raise ValidationError("must have a UTC offset between -14:00 and +14:00")
        return moment


class Coordinate(fields.Float):
    """Degrees of latitude or longitude, kept to 7 decimals (about a centimetre).

    The rounding also turns the tiniest floats (5e-324) into 0: PostgreSQL's trigonometry
    underflows on them, a 500 that Schemathesis found in the nearby search.
    """

    DECIMALS = 7
    LIMIT = 180

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, validate=validate.Range(-self.LIMIT, self.LIMIT),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return round(super()._deserialize(value, attr, data, **kwargs), self.DECIMALS)


class Latitude(Coordinate):
    LIMIT = 90


class Longitude(Coordinate):
    LIMIT = 180
