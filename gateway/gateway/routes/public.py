"""What anyone may read without a token."""

from gateway import schemas
from gateway.auth import PUBLIC
from gateway.http import route


class PublicRoutes:
    @route("GET", "/v1/regions/<region_id>/restaurants", serves=PUBLIC,
           answer=schemas.PublicRestaurant(many=True))
    def public_restaurants(self, request, caller, region_id):
        restaurants = self.directory.list_restaurants(region_id, status="active")
        return schemas.PublicRestaurant(many=True).dump(restaurants)
