"""Keeping redemption's copies of other services' facts: tickets, restaurants, households, cards.

Each function applies one event through the handler's session and never commits (the
``on_event`` wrapper does, together with the applied-event mark). Every write is an upsert or
an insert that ignores what already exists, so that even a fact republished under a new event
id leaves one row, and a ticket's balance is never reset by a repeated grant.

Known shortcoming: each event type arrives on its own queue, so a restaurant suspended just
after it joined (or a household reinstated just after its suspension) may be applied in the
wrong order and the older status wins. Directory's and enrollment's events carry no version
or change time to compare; with one, these upserts would keep the newer fact.
"""

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.periods import zone_info

from redemption.models import Card, Household, RegionZone, Restaurant, Ticket

HOUSEHOLD_STATUS_BY_EVENT = {
    "household_enrolled": "active",
    "household_suspended": "suspended",
    "household_reinstated": "active",
    "household_withdrawn": "withdrawn",
}
CARD_ACTIVE, CARD_BLOCKED = "active", "blocked"


def record_tickets(session, issued):
    """One ticket per grant of an issuance batch, each starting with its full amount."""
    zone = issued["time_zone"]
    zone_info(zone)  # an unknown zone is a broken event: fail now, so it is parked
    valid_from = datetime.fromisoformat(issued["valid_from"])
    valid_until = datetime.fromisoformat(issued["valid_until"])

    rows = [{
        "id": grant["grant_id"],
        "household_id": grant["household_id"],
        "organisation_id": grant["organisation_id"],
        "region_id": issued["region_id"],
        "period": issued["period"],
        "amount_yen": issued["amount_yen"],
        "balance_yen": issued["amount_yen"],
        "time_zone": zone,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "run_id": issued.get("run_id"),
    } for grant in issued["grants"]]

    # Without a conflict target: a grant id or a (household, period) seen before is skipped.
    if rows:
        session.execute(insert(Ticket).values(rows).on_conflict_do_nothing())
    _remember_zone(session, issued["region_id"], zone)
    return len(rows)


def _remember_zone(session, region_id, zone):
    statement = insert(RegionZone).values(region_id=region_id, time_zone=zone)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RegionZone.region_id], set_={"time_zone": zone},
    ))


def record_restaurant(session, fact):
    """The restaurant as directory last described it."""
    values = {
        "id": fact["restaurant_id"],
        "region_id": fact["region_id"],
        "organisation_id": fact["organisation_id"],
        "name": fact["name"],
        "status": fact["status"],
    }
    _upsert(session, Restaurant, Restaurant.id, values)


def record_household(session, event_type, fact):
    """The household's region, organisation and status; the status follows the event."""
    values = {
        "id": fact["household_id"],
        "region_id": fact["region_id"],
        "organisation_id": fact["organisation_id"],
        "status": HOUSEHOLD_STATUS_BY_EVENT[event_type],
    }
    _upsert(session, Household, Household.id, values)


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


def _upsert(session, model, key, values):
    changes = {name: value for name, value in values.items() if name != key.key}
    statement = insert(model).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[key], set_=dict(changes, updated_at=func.now()),
    ))
