"""The delivery log and the regions' time zones, as notification keeps them in PostgreSQL.

Every function works in the caller's transaction and never commits: an event handler's
deliveries commit together with the record that the event was applied.
"""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from notification import domain
from notification.models import Delivery, RegionTimeZone

# A claimed message reads as failed until the relay has taken it; only a settled claim commits.
UNSETTLED = (domain.FAILED, "send_not_confirmed")


def claim(session, event_id, region_id, message):
    """Reserve the log row of ``message``; None when this event already produced it."""
    outcome, error_code = UNSETTLED
    claimed = session.execute(
        insert(Delivery)
        .values(
            id=str(uuid.uuid4()), event_id=event_id, household_id=message.household_id,
            organisation_id=message.organisation_id, region_id=region_id,
            channel=message.channel, template=message.template, language=message.language,
            outcome=outcome, error_code=error_code,
        )
        .on_conflict_do_nothing(constraint="deliveries_once_per_event")
        .returning(Delivery.id)
    )
    return claimed.scalar_one_or_none()


def settle(session, delivery_id, outcome, error_code=None):
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(outcome=outcome, error_code=error_code)
    )


def remember_time_zone(session, region_id, time_zone):
    statement = insert(RegionTimeZone).values(region_id=region_id, time_zone=time_zone)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RegionTimeZone.region_id],
        set_={"time_zone": statement.excluded.time_zone, "updated_at": func.now()},
        where=RegionTimeZone.time_zone != statement.excluded.time_zone,
    ))


def time_zone_of(session, region_id):
    return session.scalar(
        select(RegionTimeZone.time_zone).where(RegionTimeZone.region_id == region_id)
    )


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
