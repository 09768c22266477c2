"""What anyone may read without a token."""

from shokudo_common.validation import shared

from gateway import schemas
from gateway.auth import PUBLIC
from gateway.http import load_query, route


class PublicRoutes:
    @route("GET", "/v1/regions/<region_id>/restaurants", serves=PUBLIC,
           answer=schemas.PublicRestaurant(many=True))
    def public_restaurants(self, request, caller, region_id):
        restaurants = self.directory.list_restaurants(region_id, status="active")
        return shared(schemas.PublicRestaurant, many=True).dump(restaurants)

    @route("GET", "/v1/regions/<region_id>/restaurants/nearby", serves=PUBLIC,
           query=schemas.NearbyQuery, answer=schemas.NearbyAnswer, errors=("invalid_input",))
    def nearby_restaurants(self, request, caller, region_id):
        """Partner restaurants near a point, nearest first: open now, by name, by flags."""
        query = load_query(shared(schemas.NearbyQuery), request)
        criteria = {"latitude": query.pop("lat"), "longitude": query.pop("lon"), **query}
        found = self.directory.nearby_restaurants(region_id, criteria)
        return shared(schemas.NearbyAnswer).dump(found)
