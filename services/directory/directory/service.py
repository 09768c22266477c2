"""The directory as a nameko service: a thin entrypoint over the domain and the database.

RPC answers the gateway (nominations and the operator's decisions, the nearby search, the
printable lists); one event handler keeps each region's time zone from issuance's programs.
"""

import base64
import logging
import uuid
from zoneinfo import ZoneInfo

from eventlet import tpool
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.clock import Clock
from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.errors import NotFound
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.validation import load, shared
from shokudo_common.zones import RegionZones

from directory import domain, hours, printable, search
from directory.models import RegionZone, Restaurant
from directory.schemas import (
    NearbyRestaurant, NearbySearch, Nomination, ProgramFact, RestaurantDetails, RestaurantOut,
)

log = logging.getLogger(__name__)

# The fact published when a restaurant enters each status.
STATUS_EVENTS = {
    domain.ACTIVE: "restaurant_joined",
    domain.SUSPENDED: "restaurant_suspended",
}

# The programs' default zone, for a region whose program the directory has not heard of.
DEFAULT_TIME_ZONE = "Asia/Tokyo"
# Zones read lately: a nearby search then makes one query, not two.
ZONES = RegionZones()


class DirectoryService(OperationalEndpoints):
    name = "directory"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()
    clock = Clock()

    @rpc
    def nominate_restaurant(self, data):
        """An organisation proposes a restaurant it trusts; it waits for the operator."""
        details = load(Nomination(), data)
        restaurant = Restaurant(id=str(uuid.uuid4()), status=domain.PENDING, **details)
        derive_search_fields(restaurant)
        self.db.add(restaurant)
        self.db.commit()
        log.info("restaurant nominated", extra={"restaurant_id": restaurant.id})
        return RestaurantOut().dump(restaurant)

    @rpc
    def approve_restaurant(self, restaurant_id):
        return self._change_status(restaurant_id, "approve")

    @rpc
    def suspend_restaurant(self, restaurant_id, reason=""):
        return self._change_status(restaurant_id, "suspend", reason)

    @rpc
    def reinstate_restaurant(self, restaurant_id):
        return self._change_status(restaurant_id, "reinstate")

    @rpc
    def update_restaurant(self, restaurant_id, changes):
        details = load(RestaurantDetails(), changes, partial=True)
        restaurant = self._locked(restaurant_id)
        for key, value in details.items():
            setattr(restaurant, key, value)
        derive_search_fields(restaurant)
        self._announce("restaurant_updated", restaurant)
        self.db.commit()
        return RestaurantOut().dump(restaurant)

    @rpc
    def get_restaurant(self, restaurant_id):
        restaurant = self.db.get(Restaurant, str(restaurant_id))
        if restaurant is None:
            raise NotFound("restaurant_not_found", f"no restaurant {restaurant_id}")
        return RestaurantOut().dump(restaurant)

    @rpc
    def list_restaurants(self, region_id, status=None, organisation_id=None):
        query = self.db.query(Restaurant).filter(Restaurant.region_id == region_id)
        if status:
            query = query.filter(Restaurant.status == status)
        if organisation_id:
            query = query.filter(Restaurant.organisation_id == organisation_id)
        restaurants = query.order_by(Restaurant.area, Restaurant.name_kana).all()
        return shared(RestaurantOut, many=True).dump(restaurants)

    # -- families finding a restaurant ------------------------------------------------------

    @rpc
    def nearby_restaurants(self, region_id, criteria):
        """Active restaurants near a point, nearest first, filtered as the family asked.

        ``criteria``: ``{latitude, longitude, radius_m=2000, open_now=False, q="", flags=[],
        limit=20}``. "Open now" is the region's local time; the answer says which moment.
        """
        criteria = load(shared(NearbySearch), {**criteria, "region_id": region_id})
        local_now = self._local_now(region_id)

        rows = search.find_nearby(self.db, criteria, hours.minute_of_week(local_now))
        return {
            "region_id": region_id,
            "time_zone": local_now.tzinfo.key,
            "local_time": local_now.isoformat(timespec="minutes"),
            "restaurants": shared(NearbyRestaurant, many=True).dump(rows),
        }

    @rpc
    def printable_list_csv(self, region_id):
        """The region's active restaurants by area, as CSV text (UTF-8 with BOM, CRLF)."""
        return printable.csv_text(self._active_in(region_id))

    @rpc
    def printable_list_pdf(self, region_id):
        """The same list as an A4 PDF, base64 encoded (RPC carries JSON)."""
        restaurants = self._active_in(region_id)
        printed_on = self._local_now(region_id).date()
        region = self.db.get(RegionZone, region_id)
        title = (region.program_name if region else None) or region_id

        # Laying out pages is CPU work: a real thread keeps the hub (and heartbeats) going.
        document = tpool.execute(printable.pdf_bytes, title, restaurants, printed_on)
        log.info("restaurant list printed", extra={
            "region_id": region_id, "restaurants": len(restaurants), "bytes": len(document),
        })
        return base64.b64encode(document).decode("ascii")

    # -- what the directory learns from the others ---------------------------------------

    @on_event("issuance", "program_updated")
    def on_program_updated(self, payload):
        """Keep the region's time zone and program name; the latest program applied wins
        (no version). A fact without a name leaves the name kept before."""
        program = load(ProgramFact(), payload)
        kept = {"time_zone": program["time_zone"]}
        if program["name"]:
            kept["program_name"] = program["name"]
        statement = insert(RegionZone).values(region_id=program["region_id"], **kept)
        self.db.execute(statement.on_conflict_do_update(
            index_elements=[RegionZone.region_id], set_=kept,
        ))
        ZONES.remember(program["region_id"], program["time_zone"])
        log.info("region time zone recorded", extra={
            "region_id": program["region_id"], "time_zone": program["time_zone"],
        })

    def _local_now(self, region_id):
        zone = ZONES.get(region_id)
        if zone is None:
            # Only a zone the program set is remembered: a region whose program is still on
            # its way is asked again next time, not held at the default for a minute.
            known = self.db.get(RegionZone, region_id)
            if known is not None:
                ZONES.remember(region_id, known.time_zone)
            zone = known.time_zone if known else DEFAULT_TIME_ZONE
        return self.clock.now().astimezone(ZoneInfo(zone))

    def _active_in(self, region_id):
        restaurants = (self.db.query(Restaurant)
                       .filter(Restaurant.region_id == region_id,
                               Restaurant.status == domain.ACTIVE)
                       .all())
        return RestaurantOut(many=True).dump(restaurants)

    # -- helpers --------------------------------------------------------------------------

    def _change_status(self, restaurant_id, action, reason=""):
        restaurant = self._locked(restaurant_id)
        restaurant.status = domain.next_status(action, restaurant.status)
        restaurant.status_reason = reason or None
        self._announce(STATUS_EVENTS[restaurant.status], restaurant)
        self.db.commit()
        log.info("restaurant status changed", extra={
            "restaurant_id": restaurant.id, "status": restaurant.status,
        })
        return RestaurantOut().dump(restaurant)

    def _locked(self, restaurant_id):
        restaurant = self.db.get(Restaurant, str(restaurant_id), with_for_update=True)
        if restaurant is None:
            raise NotFound("restaurant_not_found", f"no restaurant {restaurant_id}")
        return restaurant

    def _announce(self, event_type, restaurant):
        # Each kind of fact travels on its own queue; the version, one more per announced
        # change, lets a consumer keep the newest whatever order they arrive in. The caller
        # holds the row locked, so no other worker announces the same version.
        restaurant.version += 1
        self.outbox.add(self.db, event_type, {
            "restaurant_id": restaurant.id,
            "region_id": restaurant.region_id,
            "organisation_id": restaurant.organisation_id,
            "name": restaurant.name,
            "status": restaurant.status,
            "version": restaurant.version,
        })


def derive_search_fields(restaurant):
    """Keep what the nearby search reads in step with the fields it is derived from."""
    for name, value in search.derived_fields(restaurant).items():
        setattr(restaurant, name, value)
