"""Issuance's roster: the households a run grants, kept up to date from enrollment's facts.

Only ids, region, organisation, status and the version of the fact behind the status are kept;
personal data stays in enrollment. Facts arrive in any order; ``domain.roster_entry`` decides
which one is the newest.
"""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from issuance import domain
from issuance.models import RosterHousehold


def apply(session, event_type, fact):
    """Record what ``event_type`` says about a household unless the roster knows newer.

    Returns the household's row and whether the fact changed it; the caller's transaction
    commits.
    """
    first = domain.roster_entry(None, event_type, fact["status"], fact["version"])
    first_heard = session.execute(insert(RosterHousehold).values(
        household_id=fact["household_id"], region_id=fact["region_id"],
        organisation_id=fact["organisation_id"], enrolled_at=fact["enrolled_at"],
        status=first.status, version=first.version,
    ).on_conflict_do_nothing(index_elements=["household_id"]).returning(
        RosterHousehold.household_id)).first()

    # Locked so that two facts about one household, handled at once by two replicas, are
    # compared with the roster one after the other.
    household = session.get(RosterHousehold, fact["household_id"], with_for_update=True,
                            populate_existing=True)
    if first_heard is not None:
        return household, True

    kept = domain.RosterEntry(household.status, household.version)
    entry = domain.roster_entry(kept, event_type, fact["status"], fact["version"])
    if entry is None:
        return household, False
    household.status, household.version = entry.status, entry.version
    household.region_id = fact["region_id"]
    household.organisation_id = fact["organisation_id"]
    return household, True


def count_active(session, region_id):
    query = select(func.count()).select_from(RosterHousehold).where(
        RosterHousehold.region_id == region_id, RosterHousehold.status == domain.ACTIVE,
    )
    return session.scalar(query)
