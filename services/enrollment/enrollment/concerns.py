"""Concerns (気づき) that partner restaurants raise, kept for the organisation of the household.

A restaurant raises a concern about the child of one of its redemptions; redemption announces
it (``concern_raised``) and this module keeps it once, for the organisation the household
belongs to here, which is the truth about referrals. Once kept, ``concern_recorded`` tells the
notification service to let the organisation know that a concern is waiting: ids only (the
household's leads notification to the organisation's address; the message never names it).

The organisation sees which household and when, acknowledges and closes. The restaurant sees
only the status of what it raised. Reads are scoped: another organisation's concern is not
found, exactly as an unknown one.
"""

import logging

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.errors import NotFound

from enrollment import domain
from enrollment.models import Concern, Household
from enrollment.schemas import ConcernOut, RestaurantConcernOut

log = logging.getLogger(__name__)

# What the organisation's view of a concern shows of a household, for the access trail.
SHOWN_FIELDS = ("external_ref", "concern_note")

# Enough for a restaurant's screen; the oldest beyond it are not shown.
RESTAURANT_LIST_LIMIT = 200


def record(session, outbox, fact):
    """Keep the concern for the household's organisation; False when it was kept already.

    The caller's transaction commits. A household unknown here raises, so the fact is parked
    for an operator rather than lost.
    """
    household = session.get(Household, fact["household_id"])
    if household is None:
        raise LookupError(f"concern {fact['concern_id']} names an unknown household")
    if household.organisation_id != fact["organisation_id"]:
        # Redemption had not heard of a move yet: the household's organisation now is the one
        # that follows the family.
        log.info("concern routed to the household's organisation now", extra={
            "concern_id": fact["concern_id"], "organisation_id": household.organisation_id,
            "announced_organisation_id": fact["organisation_id"],
        })

    kept = session.execute(insert(Concern).values(
        id=fact["concern_id"], organisation_id=household.organisation_id,
        household_id=household.id, region_id=household.region_id,
        restaurant_id=fact["restaurant_id"], redemption_id=fact["redemption_id"],
        category=fact["category"], note=fact["note"], status=domain.OPEN,
        raised_at=fact["raised_at"],
    ).on_conflict_do_nothing(index_elements=["id"]).returning(Concern.id)).first()
    if kept is None:
        return False

    outbox.add(session, "concern_recorded", {
        "concern_id": fact["concern_id"], "household_id": household.id,
        "organisation_id": household.organisation_id,
        "region_id": household.region_id, "restaurant_id": fact["restaurant_id"],
    })
    return True


def of_organisation(session, organisation_id, status=None):
    """The organisation's concerns, newest first, each with its household's reference."""
    query = (select(Concern, Household.external_ref)
             .join(Household, Household.id == Concern.household_id)
             .where(Concern.organisation_id == organisation_id))
    if status:
        query = query.where(Concern.status == status)
    rows = session.execute(query.order_by(Concern.raised_at.desc(), Concern.id)).all()
    return [{**ConcernOut().dump(concern), "external_ref": external_ref}
            for concern, external_ref in rows]


def of_restaurant(session, restaurant_id):
    """What the restaurant raised and where each stands; nothing about any household."""
    query = (select(Concern).where(Concern.restaurant_id == restaurant_id)
             .order_by(Concern.raised_at.desc(), Concern.id).limit(RESTAURANT_LIST_LIMIT))
    return RestaurantConcernOut(many=True).dump(session.scalars(query).all())


def move_on(session, organisation_id, concern_id, action, now):
    """Acknowledge or close one of the organisation's concerns; returns it as it is now."""
    concern = session.get(Concern, str(concern_id), with_for_update=True,
                          populate_existing=True)
    if concern is None or concern.organisation_id != str(organisation_id):
        raise NotFound("concern_not_found", f"no concern {concern_id} for this organisation")

    status = domain.next_concern_status(action, concern.status)
    if status != concern.status:
        concern.status = status
        if status == domain.ACKNOWLEDGED:
            concern.acknowledged_at = now
        else:
            concern.closed_at = now
            concern.acknowledged_at = concern.acknowledged_at or now
        session.flush()

    household = session.get(Household, concern.household_id)
    return {**ConcernOut().dump(concern), "external_ref": household.external_ref}
