"""What issuance accepts and returns over RPC, and what it reads from enrollment's events."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shokudo_common.periods import Period, zone_info
from shokudo_common.validation import Id, RegionId, Text, Yen

from issuance import domain


class PeriodField(fields.String):
    """A calendar month written ``2026-03``, loaded as a :class:`Period`."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return Period.parse(text)
        except ValueError:
            raise ValidationError("must be a month such as 2026-03") from None


def known_time_zone(name):
    try:
        zone_info(name)
    except ValueError:
        raise ValidationError("must be a time zone name such as Asia/Tokyo") from None


class ProgramIn(Schema):
    """A program as the operator sets it; left-out fields take the platform's defaults."""

    region_id = RegionId(required=True)
    name = Text(required=True)
    amount_yen = Yen(minimum=1, maximum=100_000, load_default=domain.DEFAULT_AMOUNT_YEN)
    issue_day = fields.Integer(strict=True, validate=validate.Range(1, 28),
                               load_default=domain.DEFAULT_ISSUE_DAY)
    time_zone = fields.String(validate=known_time_zone, load_default=domain.DEFAULT_TIME_ZONE)
    void_window_hours = fields.Integer(
        strict=True, validate=validate.Range(0, domain.MAX_VOID_WINDOW_HOURS),
        load_default=domain.DEFAULT_VOID_WINDOW_HOURS)
    late_enrolment = fields.String(validate=validate.OneOf(domain.LATE_ENROLMENT_CHOICES),
                                   load_default=domain.DEFAULT_LATE_ENROLMENT)
    restaurant_scope = fields.String(validate=validate.OneOf(domain.RESTAURANT_SCOPES),
                                     load_default=domain.DEFAULT_RESTAURANT_SCOPE)


class RegionRequest(Schema):
    region_id = RegionId(required=True)


class RunRequest(RegionRequest):
    period = PeriodField(required=True)


class RosterFact(Schema):
    """The part of a household event the roster keeps; channel, language and ids of the
    event itself are not the roster's business.

    ``status`` and ``version`` are the truth about the household; facts published before
    enrollment numbered its changes have no version, and the event type stands in for a
    missing status.
    """

    class Meta:
        unknown = EXCLUDE

    household_id = Id(required=True)
    region_id = RegionId(required=True)
    organisation_id = Id(required=True)
    status = fields.String(load_default=None, validate=validate.OneOf(
        (domain.ACTIVE, domain.SUSPENDED, domain.WITHDRAWN)))
    version = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1))
    enrolled_at = fields.AwareDateTime(allow_none=True, load_default=None)


class ProgramOut(Schema):
    region_id = fields.String()
    name = fields.String()
    amount_yen = fields.Integer()
    issue_day = fields.Integer()
    time_zone = fields.String()
    void_window_hours = fields.Integer()
    late_enrolment = fields.String()
    restaurant_scope = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def _local(attribute):
    """Render an instant of a run in the region's own time zone, offset included."""

    def render(run):
        moment = getattr(run, attribute)
        if moment is None:
            return None
        return moment.astimezone(zone_info(run.time_zone)).isoformat()

    return fields.Function(render)


class RunOut(Schema):
    run_id = fields.String(attribute="id")
    region_id = fields.String()
    period = fields.String()
    status = fields.String()
    amount_yen = fields.Integer()
    households = fields.Integer()
    yen_granted = fields.Integer()
    valid_from = _local("valid_from")
    valid_until = _local("valid_until")
    started_at = _local("started_at")
    completed_at = _local("completed_at")
