"""The restaurant counter: redeem, void and read the statement."""

from gateway import schemas
from gateway.http import keyed, load_body, route, with_idempotency_key
from gateway.routes.audiences import RESTAURANT_BOOKS, RESTAURANT_COUNTER

# Redemption's decline for a card number or QR token it does not know (docs/contracts.md).
UNKNOWN_CARD_OR_TOKEN = "unknown_card_or_token"


class RestaurantRoutes:
    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions", serves=RESTAURANT_COUNTER)
    def redeem(self, request, caller, restaurant_id):
        """A bill paid with a ticket. A decline is an answer for the counter, not an error."""
        bill = with_idempotency_key(request, load_body(schemas.RedemptionRequest(), request))
        self.throttle.hit("redemption_per_restaurant", restaurant_id)
        self.throttle.refuse_after_failed_lookups(restaurant_id)

        answer = self.redemption.redeem({**bill, "restaurant_id": restaurant_id})
        # A counter trying card numbers or QR codes one after the other is slowed, then stopped.
        if answer.get("reason") == UNKNOWN_CARD_OR_TOKEN:
            self.throttle.failed_lookup(restaurant_id)
        return schemas.RedemptionAnswer().dump(answer)

    @route("GET", "/v1/restaurants/<restaurant_id>/statements/<month>", serves=RESTAURANT_BOOKS)
    def restaurant_statement(self, request, caller, restaurant_id, month):
        statement = self.redemption.restaurant_statement(restaurant_id, month)
        return schemas.Statement().dump(statement)

    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions/<redemption_id>/void",
           serves=RESTAURANT_COUNTER)
    def void_redemption(self, request, caller, restaurant_id, redemption_id):
        """Undo one of the restaurant's own redemptions, within the program's void window."""
        voided = self.redemption.void_redemption(restaurant_id, redemption_id,
                                                 **keyed(request, caller))
        return schemas.VoidAnswer().dump(voided)
