"""The directory as a nameko service: a thin entrypoint over the domain and the database."""

import logging
import uuid

from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.errors import NotFound
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.validation import load

from directory import domain
from directory.models import Restaurant
from directory.schemas import Nomination, RestaurantDetails, RestaurantOut

log = logging.getLogger(__name__)

# The fact published when a restaurant enters each status.
STATUS_EVENTS = {
    domain.ACTIVE: "restaurant_joined",
    domain.SUSPENDED: "restaurant_suspended",
}


class DirectoryService(OperationalEndpoints):
    name = "directory"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()

    @rpc
    def nominate_restaurant(self, data):
        """An organisation proposes a restaurant it trusts; it waits for the operator."""
        details = load(Nomination(), data)
        restaurant = Restaurant(id=str(uuid.uuid4()), status=domain.PENDING, **details)
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
        return RestaurantOut(many=True).dump(restaurants)

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
