"""Issuance's roster: the households a run grants, kept up to date from enrollment's facts.

Only ids, region, organisation and status are kept; personal data stays in enrollment.
"""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from issuance import domain
from issuance.models import RosterHousehold


def apply(session, event_type, fact):
    """Record what ``event_type`` says about a household; the caller's transaction commits."""
    first_heard = session.execute(insert(RosterHousehold).values(
        status=domain.roster_status(None, event_type), **fact,
    ).on_conflict_do_nothing(index_elements=["household_id"]).returning(
        RosterHousehold.household_id)).first()

    # Locked so that two facts about one household, handled at once by two replicas, apply
    # one after the other.
    household = session.get(RosterHousehold, fact["household_id"], with_for_update=True,
                            populate_existing=True)
    if first_heard is None:
        household.status = domain.roster_status(household.status, event_type)
        household.region_id = fact["region_id"]
        household.organisation_id = fact["organisation_id"]
    return household


def count_active(session, region_id):
    query = select(func.count()).select_from(RosterHousehold).where(
        RosterHousehold.region_id == region_id, RosterHousehold.status == domain.ACTIVE,
    )
    return session.scalar(query)
