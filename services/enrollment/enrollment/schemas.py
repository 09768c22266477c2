"""What enrollment accepts and returns over RPC.

Households arrive typed by staff or exported from an organisation's spreadsheet, so the fields
that are numbers at heart (phone, postcode, 管理番号) are normalised first: full-width digits
and letters become ASCII (NFKC) and the many dashes of Japanese text become one hyphen.
Names and addresses are kept exactly as written.
"""

import re
import unicodedata

import phonenumbers
from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema,
)

from shokudo_common import vocabulary
from shokudo_common.periods import zone_info
from shokudo_common.validation import Id, Instant, RegionId, Text

from enrollment import domain

# Dashes seen in Japanese phone numbers and postcodes, including the long-vowel mark that
# Japanese input methods produce when a hyphen is typed.
DASHES = "‐‑‒–—―−ーｰ－"
_TO_HYPHEN = str.maketrans({dash: "-" for dash in DASHES})
PHONE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
POSTCODE = re.compile(r"^(\d{3})-?(\d{4})$")
KANA = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff ・ー]+$")
OPTIONAL_CONTACTS = ("phone", "email", "postcode")
NO_CONTACT = "give a phone number or an email address"
NOTIFY_BY_SMS_WITHOUT_PHONE = "SMS needs a phone number"
NOTIFY_BY_PUSH_WITHOUT_APP = "app notifications need the app (利用方法 アプリ)"


def narrow(value):
    """Full-width to ASCII, every dash to a hyphen, spaces removed."""
    text = unicodedata.normalize("NFKC", value).translate(_TO_HYPHEN)
    return re.sub(r"\s+", "", text)


class PhoneNumber(fields.String):
    """A Japanese phone number, 10 or 11 digits, hyphens optional.

    The area code in brackets (``03(1234)5678``, ``(03)1234-5678``, full-width brackets too)
    is read as hyphens. Digits typed without hyphens are hyphenated as the number plan groups
    them (``09012345678`` is kept as ``090-1234-5678``): that is how staff read a number, and
    a spreadsheet never takes it for a number and drops its first 0.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        phone = _brackets_as_hyphens(narrow(super()._deserialize(value, attr, data, **kwargs)))
        digits = phone.replace("-", "")
        if not PHONE.match(phone) or len(digits) not in (10, 11):
            raise ValidationError("must be a phone number such as 03-1234-5678 or 090-1234-5678")
        return hyphenated(phone) if phone == digits else phone


def _brackets_as_hyphens(phone):
    return re.sub(r"-{2,}", "-", re.sub(r"[()]", "-", phone)).strip("-")


def hyphenated(digits):
    """A Japanese number of digits alone grouped by the number plan (phonenumbers), or the
    digits as they are when the plan does not know the number."""
    try:
        number = phonenumbers.parse(digits, "JP")
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_valid_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


class Postcode(fields.String):
    """A Japanese postcode, kept as 123-4567."""

    def _deserialize(self, value, attr, data, **kwargs):
        postcode = narrow(super()._deserialize(value, attr, data, **kwargs)).lstrip("〒")
        match = POSTCODE.match(postcode)
        if not match:
            raise ValidationError("must be a postcode such as 123-4567")
        return f"{match.group(1)}-{match.group(2)}"


def narrow_ref(value):
    """管理番号 as compared: ＡＢ－００１２ and AB-0012 are the same household."""
    return unicodedata.normalize("NFKC", value).translate(_TO_HYPHEN).strip()


class ExternalRef(fields.String):
    """The organisation's own reference number (管理番号), kept in its narrow form."""

    def _deserialize(self, value, attr, data, **kwargs):
        ref = narrow_ref(super()._deserialize(value, attr, data, **kwargs))
        if not 1 <= len(ref) <= 40:
            raise ValidationError("must be 1 to 40 characters")
        return ref


class Kana(fields.String):
    """A name in kana; half-width katakana from older systems becomes full-width."""

    def _deserialize(self, value, attr, data, **kwargs):
        kana = unicodedata.normalize("NFKC", super()._deserialize(value, attr, data, **kwargs))
        kana = re.sub(r"\s+", " ", kana).strip()
        if not kana or len(kana) > 100 or not KANA.match(kana):
            raise ValidationError("must be written in kana (up to 100 characters)")
        return kana


class Email(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip()
        return super()._deserialize(value, attr, data, **kwargs)


class OrganisationIn(Schema):
    name = Text(required=True)
    region_id = RegionId(required=True)
    household_cap = fields.Integer(
        strict=True, load_default=domain.DEFAULT_HOUSEHOLD_CAP,
        validate=validate.Range(1, domain.MAX_HOUSEHOLD_CAP),
    )
    contact_email = Email(required=True)
    contact_phone = PhoneNumber(required=True)


class HouseholdIn(Schema):
    """A household as its organisation describes it."""

    external_ref = ExternalRef(required=True)
    guardian_name = Text(required=True, max_length=100)
    guardian_name_kana = Kana(required=True)
    phone = PhoneNumber(allow_none=True, load_default=None)
    email = Email(allow_none=True, load_default=None)
    postcode = Postcode(allow_none=True, load_default=None)
    address = Text(required=True, max_length=300)
    children = fields.Integer(strict=True, required=True,
                              validate=validate.Range(1, domain.MAX_CHILDREN))
    channel = fields.String(required=True, validate=validate.OneOf(domain.CHANNELS))
    language = fields.String(load_default="ja", validate=validate.OneOf(domain.LANGUAGES))
    notify_by = fields.String(load_default=domain.EMAIL,
                              validate=validate.OneOf(domain.NOTIFY_BY))

    @pre_load
    def blank_means_none(self, data, **kwargs):
        """An empty phone, email or postcode (a blank cell) is simply not given."""
        if not isinstance(data, dict):
            return data
        return {
            key: None if key in OPTIONAL_CONTACTS and _blank(value) else value
            for key, value in data.items()
        }

    @validates_schema
    def reachable(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError({"phone": [NO_CONTACT], "email": [NO_CONTACT]})

    @validates_schema
    def preferred_channel_reaches(self, data, **kwargs):
        """SMS needs a phone number, and app notifications an app."""
        notify_by = data.get("notify_by")
        if notify_by == domain.SMS and not data.get("phone"):
            raise ValidationError({"notify_by": [NOTIFY_BY_SMS_WITHOUT_PHONE]})
        if notify_by == domain.PUSH and data.get("channel") != domain.APP:
            raise ValidationError({"notify_by": [NOTIFY_BY_PUSH_WITHOUT_APP]})


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


class ImportRequest(Schema):
    csv_base64 = fields.String(required=True, validate=validate.Length(min=1))
    dry_run = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class HouseholdFilter(Schema):
    status = fields.String(allow_none=True, load_default=None,
                           validate=validate.OneOf(domain.STATUSES))


class CardReplacementIn(Schema):
    reason = fields.String(required=True,
                           validate=validate.OneOf(domain.CARD_REPLACEMENT_REASONS))
    replaced_by = Text(required=True, max_length=160)


class ContactsRequest(Schema):
    household_ids = fields.List(Id(), required=True, validate=validate.Length(max=1000))


class OrganisationOut(Schema):
    id = fields.String()
    region_id = fields.String()
    name = fields.String()
    household_cap = fields.Integer()
    contact_email = fields.String()
    contact_phone = fields.String()
    created_at = fields.DateTime()


class HouseholdOut(Schema):
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
    app_activated_at = fields.DateTime(allow_none=True)
    enrolled_at = fields.DateTime()
    updated_at = fields.DateTime()


class CardReplacementOut(Schema):
    replacement_id = fields.String(attribute="id")
    old_card_number = fields.String()
    new_card_number = fields.String()
    reason = fields.String()
    replaced_by = fields.String()
    replaced_at = fields.DateTime()


class CardBlockIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(domain.CARD_BLOCK_REASONS))
    blocked_by = Text(required=True, max_length=160)


class CardSheetRequest(Schema):
    household_id = Id(allow_none=True, load_default=None)


# -- the access trail ------------------------------------------------------------------------

# A role, then up to two ids: the one it acts for and the staff account signed in.
ACTOR = re.compile(r"^[a-z]+(:[A-Za-z0-9@._-]{1,64}){0,2}$")
PURPOSE = re.compile(r"^[a-z][a-z_]{1,39}$")


class AccessorIn(Schema):
    """Who reads or changes personal data and why, as the gateway admitted the caller."""

    actor = fields.String(required=True, validate=[
        validate.Length(max=160),
        validate.Regexp(ACTOR, error="must be a role and its id, such as organisation:<id>"),
    ])
    purpose = fields.String(required=True, validate=validate.Regexp(
        PURPOSE, error="must be a purpose such as case_review"))
    reason = Text(allow_none=True, load_default=None, max_length=200)


class TrailQuery(Schema):
    """Whose trail (an organisation's or a region's), narrowed and paged by record id."""

    organisation_id = Id(allow_none=True, load_default=None)
    region_id = RegionId(allow_none=True, load_default=None)
    household_id = Id(allow_none=True, load_default=None)
    since = Instant(allow_none=True, load_default=None)
    until = Instant(allow_none=True, load_default=None)
    after = fields.Integer(strict=True, allow_none=True, load_default=None,
                           validate=validate.Range(min=0))
    limit = fields.Integer(strict=True, load_default=100, validate=validate.Range(1, 500))

    @validates_schema
    def one_trail(self, data, **kwargs):
        if (data.get("organisation_id") is None) == (data.get("region_id") is None):
            message = "give an organisation_id or a region_id, exactly one"
            raise ValidationError({"organisation_id": [message], "region_id": [message]})


class AccessRecordOut(Schema):
    record_id = fields.Integer(attribute="id")
    at = fields.DateTime()
    organisation_id = fields.String()
    region_id = fields.String()
    actor = fields.String()
    purpose = fields.String()
    reason = fields.String(allow_none=True)
    action = fields.String()
    household_ids = fields.List(fields.String())
    # Not named ``fields``, which would hide marshmallow's module in this class.
    field_names = fields.List(fields.String(), attribute="fields", data_key="fields")
    correlation_id = fields.String(allow_none=True)


# -- moves and concerns -------------------------------------------------------------------------

class MoveIn(Schema):
    """Where a household that moved goes: another organisation of its region."""

    to_organisation_id = Id(required=True)


class ConcernFact(Schema):
    """redemption's ``concern_raised``; its household and organisation are checked here."""

    class Meta:
        unknown = EXCLUDE

    concern_id = Id(required=True)
    household_id = Id(required=True)
    organisation_id = Id(required=True)
    region_id = RegionId(required=True)
    restaurant_id = Id(required=True)
    restaurant_name = fields.String(load_default=None, allow_none=True)
    redemption_id = Id(required=True)
    category = fields.String(required=True, validate=validate.Length(min=1, max=16))
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    raised_at = fields.AwareDateTime(required=True)


def _known_time_zone(name):
    try:
        zone_info(name)
    except ValueError:
        raise ValidationError("must be a known time zone such as Asia/Tokyo") from None


class ProgramFact(Schema):
    """The part of issuance's ``program_updated`` that enrollment keeps: the time zone."""

    class Meta:
        unknown = EXCLUDE

    region_id = RegionId(required=True)
    time_zone = fields.String(required=True, validate=_known_time_zone)


class ConcernFilter(Schema):
    status = fields.String(allow_none=True, load_default=None,
                           validate=validate.OneOf(domain.CONCERN_STATUSES))


def _category_label(concern):
    return vocabulary.concern_category_label(concern.category)


class ConcernOut(Schema):
    """A concern as the organisation sees it: which of its households, what and when."""

    concern_id = fields.String(attribute="id")
    household_id = fields.String()
    restaurant_id = fields.String()
    restaurant_name = fields.String(allow_none=True)
    redemption_id = fields.String()
    category = fields.String()
    category_label = fields.Function(_category_label)
    note = fields.String()
    status = fields.String()
    raised_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class RestaurantConcernOut(Schema):
    """A concern as the restaurant that raised it sees it: its status, nothing of the family."""

    concern_id = fields.String(attribute="id")
    redemption_id = fields.String()
    category = fields.String()
    category_label = fields.Function(_category_label)
    status = fields.String()
    raised_at = fields.DateTime()


class ConcernRef(Schema):
    id = Id(required=True)
