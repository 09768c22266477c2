"""Keeping redemption's copies of other services' facts: tickets, programs, restaurants,
households, cards.

Each function applies one event through the handler's session and never commits (the
``on_event`` wrapper does, together with the applied-event mark). Every write is an upsert or
an insert that ignores what already exists, so that even a fact republished under a new event
id leaves one row, and a ticket's balance is never reset by a repeated grant.

Each event type arrives on its own queue and the service runs in several replicas, so a
restaurant suspended just after it joined (or a household reinstated just after its suspension)
may be applied in the wrong order. Directory and enrollment number each restaurant's and each
household's announced changes (``version``: 1, 2, 3...), and a row keeps the version it comes
from: a fact replaces the row only when its version is higher. An older or equal one is late or
repeated and changes nothing; the caller counts it. Facts published before the numbering have
no version: they are older than any numbered fact, so they count only while the row holds
nothing numbered (version 0), last one wins, as before.
"""

import json
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.periods import zone_info

from redemption.models import Card, Household, RegionZone, Restaurant

HOUSEHOLD_STATUS_BY_EVENT = {
    "household_enrolled": "active",
    "household_suspended": "suspended",
    "household_reinstated": "active",
    "household_withdrawn": "withdrawn",
}
CARD_ACTIVE, CARD_BLOCKED = "active", "blocked"

# The version a row keeps when it comes from a fact published before versions existed.
UNNUMBERED = 0


# One statement for a whole batch of grants, its rows unpacked by PostgreSQL from one JSON
# parameter: the same text for every batch (no 500-row statement to compile each time) and one
# round trip. Without a conflict target: a grant id or a (household, period) seen before is
# skipped, so a repeated batch changes nothing.
RECORD_TICKETS = text("""
    INSERT INTO tickets (id, household_id, organisation_id, region_id, period, amount_yen,
                         balance_yen, time_zone, valid_from, valid_until, run_id)
    SELECT granted.grant_id, granted.household_id, granted.organisation_id, :region_id, :period,
           :amount_yen, :amount_yen, :time_zone, :valid_from, :valid_until, :run_id
      FROM jsonb_to_recordset(CAST(:grants AS jsonb))
           AS granted(grant_id text, household_id text, organisation_id text)
    ON CONFLICT DO NOTHING
""")


def record_tickets(session, issued):
    """One ticket per grant of an issuance batch, each starting with its full amount."""
    zone = issued["time_zone"]
    zone_info(zone)  # an unknown zone is a broken event: fail now, so it is parked
    grants = [{"grant_id": grant["grant_id"], "household_id": grant["household_id"],
               "organisation_id": grant["organisation_id"]} for grant in issued["grants"]]

    if grants:
        session.execute(RECORD_TICKETS, {
            "grants": json.dumps(grants),
            "region_id": issued["region_id"],
            "period": issued["period"],
            "amount_yen": issued["amount_yen"],
            "time_zone": zone,
            "valid_from": datetime.fromisoformat(issued["valid_from"]),
            "valid_until": datetime.fromisoformat(issued["valid_until"]),
            "run_id": issued.get("run_id"),
        })
    _remember_zone(session, issued["region_id"], zone)
    return len(grants)


def _remember_zone(session, region_id, zone):
    """The zone of a region's tickets stands in for its program's until that is heard of;
    it never overrides the program (a run keeps the zone it opened with, older than that)."""
    statement = insert(RegionZone).values(region_id=region_id, time_zone=zone)
    session.execute(statement.on_conflict_do_nothing(index_elements=[RegionZone.region_id]))


def record_program(session, program):
    """A region's time zone, void window and restaurant scope, as issuance's last
    ``program_updated`` says.

    Known shortcoming: the fact carries no version, so two changes of one program applied in
    the wrong order (two replicas, seconds apart) leave the older; saving the program again
    sets it right.
    """
    values = {"time_zone": program["time_zone"],
              "void_window_hours": program["void_window_hours"],
              "restaurant_scope": program["restaurant_scope"]}
    statement = insert(RegionZone).values(region_id=program["region_id"], **values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RegionZone.region_id], set_=values,
    ))


def record_restaurant(session, fact):
    """The restaurant as directory last described it; False when the fact is not newer."""
    version = fact_version(fact)
    values = {
        "id": fact["restaurant_id"],
        "region_id": fact["region_id"],
        "organisation_id": fact["organisation_id"],
        "name": fact["name"],
        "status": fact["status"],
        "version": version or UNNUMBERED,
    }
    return _upsert_if_newer(session, Restaurant, Restaurant.id, values, version)


def record_household(session, event_type, fact):
    """The household's region, organisation and status; False when the fact is not newer.

    The status is the one the fact states; the event type stands in for it only in facts
    that do not carry one.
    """
    version = fact_version(fact)
    values = {
        "id": fact["household_id"],
        "region_id": fact["region_id"],
        "organisation_id": fact["organisation_id"],
        "status": fact.get("status") or HOUSEHOLD_STATUS_BY_EVENT[event_type],
        "version": version or UNNUMBERED,
    }
    return _upsert_if_newer(session, Household, Household.id, values, version)


def fact_version(fact):
    """The fact's version, None for a fact published before versions; a broken one raises.

    Raising lets the handler park the fact for an operator instead of guessing its place.
    """
    version = fact.get("version")
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a whole number from 1, not {version!r}")
    return version


def record_card_issued(session, fact):
    """A new card draws on its household's ticket; a card already blocked stays blocked."""
    statement = insert(Card).values(
        card_number=fact["card_number"], household_id=fact["household_id"],
        region_id=fact.get("region_id"), status=CARD_ACTIVE,
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=[Card.card_number]))


def record_card_blocked(session, fact):
    """A blocked card is refused from now on, even if its issue is still on its way."""
    values = {
        "card_number": fact["card_number"],
        "household_id": fact["household_id"],
        "status": CARD_BLOCKED,
    }
    _upsert(session, Card, Card.card_number, values)


def _upsert_if_newer(session, model, key, values, version):
    """Insert the row, or replace it if ``version`` is newer; whether anything was written.

    One statement, so two replicas applying facts about one row at once are ordered by the
    row lock PostgreSQL takes, and the later one compares with what the earlier one wrote.
    """
    changes = {name: value for name, value in values.items() if name != key.key}
    # In ON CONFLICT ... WHERE, the model's columns are the row already kept.
    if version is None:
        kept_is_older = model.version == UNNUMBERED
    else:
        kept_is_older = model.version < version
    statement = insert(model).values(**values).on_conflict_do_update(
        index_elements=[key], set_=dict(changes, updated_at=func.now()), where=kept_is_older,
    ).returning(key)
    return session.execute(statement).first() is not None


def _upsert(session, model, key, values):
    changes = {name: value for name, value in values.items() if name != key.key}
    statement = insert(model).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[key], set_=dict(changes, updated_at=func.now()),
    ))
