"""What notification reads from other services' events and replies, and what it answers.

Events are read with ``EXCLUDE``: a publisher may add fields (``event_id`` among them) without
breaking this consumer. A fact that lacks what a message needs is refused as a whole, so the
event handler parks it where an operator can see it rather than sending half a message.
"""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shokudo_common.periods import zone_info
from shokudo_common.validation import Id, RegionId, Yen

from notification import domain

CHANNELS = ("app", "card")


def known_time_zone(name):
    try:
        zone_info(name)
    except ValueError:
        raise ValidationError("must be a known time zone such as Asia/Tokyo") from None


class Event(Schema):
    class Meta:
        unknown = EXCLUDE


class Grant(Event):
    grant_id = Id(required=True)
    household_id = Id(required=True)
    organisation_id = Id(required=True)


class TicketsIssued(Event):
    """One batch of grants from an issuance run (issuance.events ``tickets_issued``)."""

    run_id = Id(required=True)
    region_id = RegionId(required=True)
    period = fields.String(required=True)
    amount_yen = Yen(required=True)
    time_zone = fields.String(required=True, validate=known_time_zone)
    valid_until = fields.AwareDateTime(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    grants = fields.List(fields.Nested(Grant), required=True)


class TicketRedeemed(Event):
    """A redemption applied at a restaurant (redemption.events ``ticket_redeemed``)."""

    redemption_id = Id(required=True)
    # Followed for reminders when present; the fact has carried it since redemption began.
    ticket_id = Id(load_default=None)
    household_id = Id(required=True)
    organisation_id = Id(required=True)
    region_id = RegionId(required=True)
    restaurant_id = Id(required=True)
    applied_yen = Yen(required=True)
    balance_yen = Yen(required=True)
    # Not in every version of the fact; a receipt mentions it only when there is something.
    pay_at_counter_yen = Yen(load_default=0)
    valid_until = fields.AwareDateTime(required=True)
    at = fields.AwareDateTime(required=True)


class TicketVoided(Event):
    """A redemption undone (redemption.events ``ticket_voided``): the ticket's new balance."""

    ticket_id = Id(required=True)
    household_id = Id(required=True)
    balance_yen = Yen(required=True)
    at = fields.AwareDateTime(required=True)


class TicketExpired(Event):
    """A ticket whose window closed (redemption.events ``ticket_expired``)."""

    ticket_id = Id(required=True)
    household_id = Id(required=True)


class Contact(Event):
    """One household as enrollment.get_contacts describes it, for notification only."""

    household_id = Id(required=True)
    # active, suspended or withdrawn: a reminder goes to an active household only.
    status = fields.String(load_default=domain.ACTIVE, allow_none=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    # An unknown language is read as Japanese rather than refusing the whole batch.
    language = fields.String(load_default="ja", allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    organisation_id = Id(required=True)
    organisation_name = fields.String(load_default="", allow_none=True)
    organisation_email = fields.String(load_default=None, allow_none=True)
    external_ref = fields.String(load_default=None, allow_none=True)
    # How the household prefers to hear from us, and its phone for SMS. Enrollment does not
    # send these yet: until it does, every family is written to by email.
    # An unknown channel is read as email rather than refusing the whole batch.
    notify_by = fields.String(load_default=domain.EMAIL, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)


class Contacts(Schema):
    contacts = fields.List(fields.Nested(Contact), required=True)


class SummaryQuery(Schema):
    region_id = RegionId(load_default=None, allow_none=True)


class ConcernRecorded(Event):
    """A restaurant's concern kept for an organisation (enrollment.events ``concern_recorded``).

    The household leads to the organisation's address, as for every notice; the message never
    names it.
    """

    concern_id = Id(required=True)
    household_id = Id(required=True)
    organisation_id = Id(required=True)
    region_id = RegionId(required=True)



PLATFORMS = ("ios", "android")


class PushTokenIn(Schema):
    """A device the family's app registers for push messages."""

    household_id = Id(required=True)
    token = fields.String(required=True, validate=[
        validate.Length(min=1, max=4096),
        validate.Regexp(r"^\S+$", error="must be the device token, without spaces"),
    ])
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
