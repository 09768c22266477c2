"""Concerns (気づき) that partner restaurants raise, kept for the organisation of the household.

A restaurant raises a concern about the child of one of its redemptions; redemption announces
it (``concern_raised``) and this module keeps it once, for the organisation the household
belongs to here, which is the truth about referrals. Once kept, ``concern_recorded`` tells the
notification service to let the organisation know that a concern is waiting: ids only (the
household's leads notification to the organisation's address; the message never names it).

The organisation sees which household, at which restaurant (by name, from the fact) and when,
acknowledges and closes. The restaurant sees only the status of what it raised. Reads are
scoped: another organisation's concern is not found, exactly as an unknown one. Instants are
given in the region's local time, the zone learnt from issuance's ``program_updated``
(Asia/Tokyo for a region not heard of yet).
"""

import logging

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.errors import NotFound
from shokudo_common.periods import zone_info

from enrollment import domain
from enrollment.models import Concern, Household, RegionZone
from enrollment.schemas import ConcernOut, RestaurantConcernOut

log = logging.getLogger(__name__)

# What the organisation's view of a concern shows of a household, for the access trail.
SHOWN_FIELDS = ("external_ref", "concern_note")

# Enough for a restaurant's screen; the oldest beyond it are not shown.
RESTAURANT_LIST_LIMIT = 200

DEFAULT_TIME_ZONE = "Asia/Tokyo"
INSTANTS = ("raised_at", "acknowledged_at", "closed_at")


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
        restaurant_id=fact["restaurant_id"], restaurant_name=fact["restaurant_name"],
        redemption_id=fact["redemption_id"],
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
    zones = Zones(session)
    return [_for_organisation(concern, external_ref, zones) for concern, external_ref in rows]


def of_restaurant(session, restaurant_id):
    """What the restaurant raised and where each stands; nothing about any household."""
    query = (select(Concern).where(Concern.restaurant_id == restaurant_id)
             .order_by(Concern.raised_at.desc(), Concern.id).limit(RESTAURANT_LIST_LIMIT))
    zones = Zones(session)
    return [zones.local(concern, RestaurantConcernOut().dump(concern))
            for concern in session.scalars(query).all()]


def remember_time_zone(session, region_id, time_zone):
    """The region's zone from issuance's ``program_updated``; the latest applied wins."""
    statement = insert(RegionZone).values(region_id=region_id, time_zone=time_zone)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RegionZone.region_id], set_={"time_zone": time_zone}))


class Zones:
    """The time zones of the regions one answer shows, each read once."""

    def __init__(self, session):
        self.session = session
        self.known = {}

    def of(self, region_id):
        if region_id not in self.known:
            kept = self.session.get(RegionZone, region_id)
            self.known[region_id] = zone_info(kept.time_zone if kept else DEFAULT_TIME_ZONE)
        return self.known[region_id]

    def local(self, concern, shown):
        """``shown`` with the concern's instants in its region's local time."""
        zone = self.of(concern.region_id)
        for name in INSTANTS:
            if name in shown:
                moment = getattr(concern, name)
                shown[name] = moment.astimezone(zone).isoformat() if moment else None
        return shown


def _for_organisation(concern, external_ref, zones):
    return zones.local(concern, {**ConcernOut().dump(concern), "external_ref": external_ref})


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
    return _for_organisation(concern, household.external_ref, Zones(session))
