"""The delivery log (and queue), tracked tickets and the regions' time zones, in PostgreSQL.

Every function works in the caller's transaction and never commits: an event handler's
deliveries commit together with the record that the event was applied, and the sending timer
commits each step of a message on its own (see service.NotificationService.send_due).

What runs for every receipt (enqueue, follow_balance, settle) is a fixed statement of text,
compiled once per process; a region's time zone is remembered for a minute (RegionZones).
"""

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.logs import current_correlation_id
from shokudo_common.zones import RegionZones

from notification import domain
from notification.models import Delivery, PushDevice, RegionTimeZone, TrackedTicket

SEND_NOT_CONFIRMED = "send_not_confirmed"
# Zones read lately: a receipt then makes one query less.
ZONES = RegionZones()


def remember_time_zone(session, region_id, time_zone):
    statement = insert(RegionTimeZone).values(region_id=region_id, time_zone=time_zone)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RegionTimeZone.region_id],
        set_={"time_zone": statement.excluded.time_zone, "updated_at": func.now()},
        where=RegionTimeZone.time_zone != statement.excluded.time_zone,
    ))
    ZONES.remember(region_id, time_zone)


def time_zone_of(session, region_id):
    """The region's zone as tickets_issued told it, or None when not heard of yet (a region
    not heard of is asked again next time, not held at a default for a minute)."""
    zone = ZONES.get(region_id)
    if zone is None:
        zone = session.scalar(TIME_ZONE_OF, {"region_id": region_id})
        if zone is not None:
            ZONES.remember(region_id, zone)
    return zone


TIME_ZONE_OF = text("SELECT time_zone FROM region_time_zones WHERE region_id = :region_id")


def summary(session, region_id=None):
    """Counts of the delivery log by channel and outcome, zeros included."""
    query = select(Delivery.channel, Delivery.outcome, func.count()).group_by(
        Delivery.channel, Delivery.outcome
    )
    if region_id is not None:
        query = query.where(Delivery.region_id == region_id)

    counts = {channel: dict.fromkeys(domain.OUTCOMES, 0) for channel in domain.CHANNELS}
    for channel, outcome, number in session.execute(query):
        counts.setdefault(channel, dict.fromkeys(domain.OUTCOMES, 0))[outcome] = number

    total = sum(sum(by_outcome.values()) for by_outcome in counts.values())
    return {"region_id": region_id, "total": total, "by_channel": counts,
            "by_template": _by_template(session, region_id)}


def _by_template(session, region_id):
    query = select(Delivery.template, func.count()).group_by(Delivery.template)
    if region_id is not None:
        query = query.where(Delivery.region_id == region_id)
    return {template: number for template, number in session.execute(query)}


# -- the queue: messages waiting in the delivery log ------------------------------------------


@dataclass(frozen=True)
class Queued:
    """A delivery taken from the queue by one worker, as it was when taken."""

    id: str
    event_id: str
    household_id: str | None
    organisation_id: str
    region_id: str
    channel: str
    template: str
    language: str
    contact_household_id: str | None
    facts: dict
    attempts: int
    correlation_id: str | None = None


ENQUEUE = text("""
    INSERT INTO deliveries (id, event_id, household_id, organisation_id, region_id, channel,
                            template, language, outcome, error_code, contact_household_id,
                            facts, next_attempt_at, settled_at, correlation_id)
    VALUES (:id, :event_id, :household_id, :organisation_id, :region_id, :channel, :template,
            :language, :outcome, :error_code, :contact_household_id, CAST(:facts AS jsonb),
            :next_attempt_at, CASE WHEN :skipped THEN now() END, :correlation_id)
    ON CONFLICT ON CONSTRAINT deliveries_once_per_event DO NOTHING
    RETURNING id
""")


def enqueue(session, event_id, region_id, message, due_at):
    """Log ``message`` as pending until ``due_at``, or as skipped when it cannot go; returns
    its id, or None when this event already produced it."""
    skipped = message.skip_reason is not None
    entered = session.execute(ENQUEUE, {
        "id": str(uuid.uuid4()), "event_id": event_id, "household_id": message.household_id,
        "organisation_id": message.organisation_id, "region_id": region_id,
        "channel": message.channel, "template": message.template,
        "language": message.language,
        "outcome": domain.SKIPPED if skipped else domain.PENDING,
        "error_code": message.skip_reason,
        "contact_household_id": message.contact_household_id,
        "facts": None if skipped else facts_json(message.facts),
        "next_attempt_at": None if skipped else due_at,
        "skipped": skipped,
        "correlation_id": current_correlation_id(),
    })
    return entered.scalar_one_or_none()


def take_due(session, now, limit):
    """Take up to ``limit`` due messages for this worker: other replicas skip the rows it has
    locked, and once this transaction commits they read "sending" and leave them."""
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.outcome == domain.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()

    taken = []
    for row in rows:
        row.outcome, row.sending_since, row.attempts = domain.SENDING, now, row.attempts + 1
        taken.append(Queued(
            id=row.id, event_id=row.event_id, household_id=row.household_id,
            organisation_id=row.organisation_id, region_id=row.region_id, channel=row.channel,
            template=row.template, language=row.language,
            contact_household_id=row.contact_household_id, facts=decode_facts(row.facts),
            attempts=row.attempts, correlation_id=row.correlation_id,
        ))
    return taken


SETTLE = text(
    "UPDATE deliveries SET outcome = :outcome, error_code = :error_code, next_attempt_at = NULL,"
    " settled_at = COALESCE(:now, now()), provider_status = :provider_status WHERE id = :id"
)


def settle(session, delivery_id, outcome, error_code=None, now=None, provider_status=None):
    """The last word on a message: sent, failed (with the provider's status when a provider
    refused it) or skipped."""
    session.execute(SETTLE, {"id": delivery_id, "outcome": outcome, "error_code": error_code,
                             "now": now, "provider_status": provider_status})


def register_push_device(session, household_id, token, platform, now):
    """The household's app device for push; a later registration replaces the earlier one."""
    statement = insert(PushDevice).values(household_id=household_id, token=token,
                                          platform=platform, registered_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[PushDevice.household_id],
        set_={"token": token, "platform": platform, "registered_at": now},
    ))


def push_devices(session, household_ids):
    """Household id -> (token, platform) of those whose app registered a device."""
    if not household_ids:
        return {}
    rows = session.execute(
        select(PushDevice.household_id, PushDevice.token, PushDevice.platform)
        .where(PushDevice.household_id.in_(list(household_ids)))
    ).all()
    return {household_id: (token, platform) for household_id, token, platform in rows}


def try_again_at(session, delivery_id, moment, error_code=None, attempt_counted=True):
    """Back to pending until ``moment``; a try that never happened (quiet hours caught it at
    send time) gives its attempt back."""
    attempts = Delivery.attempts if attempt_counted else Delivery.attempts - 1
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(outcome=domain.PENDING, next_attempt_at=moment, error_code=error_code,
                sending_since=None, attempts=attempts)
    )


def give_up_unconfirmed(session, taken_before, now):
    """Messages a worker took before ``taken_before`` and never settled (it died mid-send):
    the relay may have taken them, so they are marked failed, never sent again."""
    unconfirmed = session.scalars(
        update(Delivery)
        .where(Delivery.outcome == domain.SENDING, Delivery.sending_since < taken_before)
        .values(outcome=domain.FAILED, error_code=SEND_NOT_CONFIRMED, settled_at=now,
                next_attempt_at=None)
        .returning(Delivery)
    ).all()
    return list(unconfirmed)


def queue_sizes(session):
    """How many messages wait (pending) and how many are being sent right now."""
    counts = dict(session.execute(
        select(Delivery.outcome, func.count())
        .where(Delivery.outcome.in_((domain.PENDING, domain.SENDING)))
        .group_by(Delivery.outcome)
    ).all())
    return {outcome: counts.get(outcome, 0) for outcome in (domain.PENDING, domain.SENDING)}


def encode_facts(facts):
    """Facts as JSON; dates and instants tagged so that they come back as themselves."""
    return json.loads(facts_json(facts))


def facts_json(facts):
    """The text of :func:`encode_facts`."""
    return json.dumps(facts, default=_tag, ensure_ascii=False)


def decode_facts(stored):
    return json.loads(json.dumps(stored or {}), object_hook=_untag)


def _tag(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot keep a {type(value).__name__} among the facts")


def _untag(stored):
    if stored.keys() == {"$datetime"}:
        return datetime.fromisoformat(stored["$datetime"])
    if stored.keys() == {"$date"}:
        return date.fromisoformat(stored["$date"])
    return stored


# -- tickets, for reminders -------------------------------------------------------------------


def track_grants(session, issue):
    """Start following each granted ticket, its whole amount left; a grant seen twice once."""
    remind_at = domain.reminder_due_at(issue["valid_until"])
    rows = [
        {
            "ticket_id": grant["grant_id"], "household_id": grant["household_id"],
            "organisation_id": grant["organisation_id"], "region_id": issue["region_id"],
            "period": issue["period"], "balance_yen": issue["amount_yen"],
            "valid_until": issue["valid_until"], "last_day": issue["last_day"],
            "time_zone": issue["time_zone"], "remind_at": remind_at,
        }
        for grant in issue["grants"]
    ]
    if rows:
        session.execute(insert(TrackedTicket).values(rows).on_conflict_do_nothing())


FOLLOW_BALANCE = text(
    "UPDATE tracked_tickets SET balance_yen = :balance_yen, balance_at = :at"
    " WHERE ticket_id = :ticket_id AND (balance_at IS NULL OR balance_at <= :at)"
)


def follow_balance(session, ticket_id, balance_yen, at):
    """What is left on a ticket after a redemption or a void at ``at``; later facts win."""
    session.execute(FOLLOW_BALANCE, {"ticket_id": ticket_id, "balance_yen": balance_yen,
                                     "at": at})


def close_ticket(session, ticket_id):
    """An expired ticket has nothing left to remind anyone of."""
    session.execute(
        update(TrackedTicket).where(TrackedTicket.ticket_id == ticket_id).values(expired=True)
    )


CLAIM_REMINDERS = text("""
    INSERT INTO reminders (household_id, period, ticket_id)
    SELECT ticket.household_id, ticket.period, ticket.ticket_id
    FROM tracked_tickets AS ticket
    WHERE NOT ticket.expired AND ticket.balance_yen > 0
      AND ticket.remind_at <= :now AND ticket.valid_until > :now
      AND NOT EXISTS (SELECT 1 FROM reminders AS sent
                      WHERE sent.household_id = ticket.household_id
                        AND sent.period = ticket.period)
    ORDER BY ticket.remind_at
    LIMIT :limit
    ON CONFLICT DO NOTHING
    RETURNING ticket_id
""")


def claim_reminders(session, now, limit):
    """The tickets this worker reminds of: the reminders' primary key (household, period) lets
    one insert win; a replica racing for the same ticket waits, then inserts nothing."""
    claimed = session.execute(CLAIM_REMINDERS, {"now": now, "limit": limit}).scalars().all()
    if not claimed:
        return []
    return list(session.scalars(
        select(TrackedTicket).where(TrackedTicket.ticket_id.in_(claimed))
        .order_by(TrackedTicket.region_id, TrackedTicket.household_id)
    ))
