"""A region to test in, set up through the gateway as the operator and an organisation would:
a program, one organisation, approved restaurants, households and this month's tickets.

Each resilience test opens a region of its own, so tests that share a stack never share money.
At the counter a card or an app's QR code needs only the redemption service: its projections
know cards, households and tickets from the others' facts, so enrollment may be away.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from shokudo_common.client import GatewayClient

from support import current_period, publish_facts, rows, signed_in, wait_until

OPEN_ALL_DAY = {day: [{"opens": "00:00", "closes": "00:00"}]
                for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

READY_HOUSEHOLDS = """
    SELECT households.id FROM households
      JOIN tickets ON tickets.household_id = households.id
     WHERE households.id = ANY(:ids) AND households.status = 'active'
       AND tickets.valid_from <= now() AND tickets.valid_until > now()
"""
ACTIVE_CARDS = "SELECT card_number FROM cards WHERE card_number = ANY(:cards) AND status = 'active'"
ACTIVE_RESTAURANTS = "SELECT id FROM restaurants WHERE id = ANY(:ids) AND status = 'active'"


@dataclass
class Region:
    stack: object
    region_id: str
    gateway: GatewayClient
    operator: GatewayClient
    organisation: dict
    staff: GatewayClient
    restaurants: list = field(default_factory=list)
    households: list = field(default_factory=list)

    # -- setting up -----------------------------------------------------------------------

    def nominate(self, name):
        """A restaurant the organisation trusts, waiting for the operator's approval."""
        return self.staff.post(f"/v1/organisations/{self.organisation['id']}/restaurants", {
            "name": name, "name_kana": "テストショクドウ", "address": f"{self.region_id} 1-1-1",
            "latitude": 35.6, "longitude": 139.7, "phone": "03-1111-2222",
            "opening_hours": OPEN_ALL_DAY,
        })

    def approve(self, restaurant):
        return self.operator.post(f"/v1/restaurants/{restaurant['id']}/approve")

    def enrol(self, count, channel="card", email=None):
        """``count`` households; the answers carry card numbers or activation codes."""
        enrolled = [
            self.staff.post(f"/v1/organisations/{self.organisation['id']}/households", {
                "external_ref": f"{self.region_id}-{len(self.households) + number + 1}",
                "guardian_name": "試験 保護者", "guardian_name_kana": "シケン ホゴシャ",
                "address": f"{self.region_id} 2-2-2", "children": 1, "channel": channel,
                "phone": "090-0000-0000", "email": email,
            })
            for number in range(count)
        ]
        self.households.extend(enrolled)
        return enrolled

    def issue_tickets(self):
        """This month's tickets (last period's run), once issuance knows every household;
        returns the run when redemption is ready to serve the region at the counter."""
        period, _ = current_period()
        wait_until(lambda: self._roster_count() == len(self.households),
                   what=f"issuance learning of the households of {self.region_id}")
        run = self.operator.post(f"/v1/regions/{self.region_id}/issuance-runs",
                                 {"period": str(period)})
        assert run["households"] == len(self.households), run
        wait_until(self.counter_ready, what=f"redemption ready to serve {self.region_id}")
        return run

    def counter_ready(self):
        """Redemption knows every restaurant, household, card and ticket of the region."""
        cards = [household["card_number"] for household in self.households
                 if household["card_number"]]
        restaurants = rows(self.stack, "redemption", ACTIVE_RESTAURANTS,
                           ids=[restaurant["id"] for restaurant in self.restaurants])
        households = rows(self.stack, "redemption", READY_HOUSEHOLDS,
                          ids=[household["id"] for household in self.households])
        active_cards = rows(self.stack, "redemption", ACTIVE_CARDS, cards=cards)
        return (len(restaurants), len(households), len(active_cards)) == (
            len(self.restaurants), len(self.households), len(cards))

    def _roster_count(self):
        return self.operator.get(f"/v1/regions/{self.region_id}/roster-count")["count"]

    # -- at the counter -------------------------------------------------------------------

    def counter(self, restaurant):
        """The gateway as the staff of ``restaurant`` see it."""
        return signed_in(self.stack, self.gateway, "restaurant", restaurant_id=restaurant["id"])

    def family(self, household):
        """The gateway as the app of ``household`` sees it (its code works once)."""
        activated = self.gateway.post("/v1/app/activate",
                                      {"activation_code": household["activation_code"]})
        return self.gateway.as_(activated["access_token"])


def open_region(stack, gateway, operator, region_id, restaurants=1, organisation_email=None):
    """A region with its program, one organisation and ``restaurants`` approved restaurants."""
    operator.put(f"/v1/regions/{region_id}/program", {"name": f"{region_id} こども食堂"})
    organisation = operator.post(f"/v1/regions/{region_id}/organisations", {
        "name": f"NPO {region_id}", "household_cap": 100,
        "contact_email": organisation_email or f"npo@{region_id}.example.org",
        "contact_phone": "03-0000-0001",
    })
    staff = signed_in(stack, gateway, "organisation", organisation_id=organisation["id"])
    region = Region(stack, region_id, gateway, operator, organisation, staff)
    for number in range(restaurants):
        restaurant = region.nominate(f"{region_id} 食堂 {number + 1}")
        region.restaurants.append(region.approve(restaurant))
    return region


def bill(counter, restaurant, bill_yen, key=None, **ticket):
    """Present a bill at ``restaurant``'s counter; the raw response, whatever its status."""
    headers = {"Idempotency-Key": key} if key else {}
    return counter.request("POST", f"/v1/restaurants/{restaurant['id']}/redemptions",
                           expect=None, json={"bill_yen": bill_yen, **ticket}, headers=headers)


def enrol_on_the_roster(stack, operator, region_id, count, expected_total=None):
    """``count`` active households of a new organisation, announced as enrollment would.

    Returns once issuance's roster of the region holds ``expected_total`` households (by
    default ``count``: the region had none before).
    """
    organisation_id = str(uuid.uuid4())
    enrolled_at = datetime.now(timezone.utc).isoformat()
    facts = [{
        "event_id": str(uuid.uuid4()), "household_id": str(uuid.uuid4()),
        "region_id": region_id, "organisation_id": organisation_id, "channel": "card",
        "language": "ja", "status": "active", "enrolled_at": enrolled_at, "version": 1,
    } for _ in range(count)]
    expected = count if expected_total is None else expected_total
    publish_facts(stack.amqp_uri, "enrollment", "household_enrolled", facts)
    wait_until(
        lambda: operator.get(f"/v1/regions/{region_id}/roster-count")["count"] == expected,
        timeout=90, what=f"issuance learning of the {count} households of {region_id}",
    )
    return {fact["household_id"] for fact in facts}
