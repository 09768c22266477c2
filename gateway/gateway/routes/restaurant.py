"""The restaurant counter: redeem, void and read the statement."""

from shokudo_common.validation import shared

from gateway import schemas
from gateway.http import keyed, load_body, load_query, route, with_idempotency_key
from gateway.routes.audiences import RESTAURANT_BOOKS, RESTAURANT_COUNTER


class RestaurantRoutes:
    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions", serves=RESTAURANT_COUNTER,
           body=schemas.RedemptionRequest, answer=schemas.RedemptionAnswer,
           errors=("restaurant_not_found", "rate_limited", "too_many_failed_lookups"),
           idempotent=True)
    def redeem(self, request, caller, restaurant_id):
        """A bill paid with a ticket. A decline is an answer for the counter, not an error."""
        bill = with_idempotency_key(request, load_body(shared(schemas.RedemptionRequest), request))
        self.throttle.hit("redemption_per_restaurant", restaurant_id)
        self.throttle.refuse_after_failed_lookups(restaurant_id)

        answer = self.redemption.redeem({**bill, "restaurant_id": restaurant_id})
        # A counter trying card numbers or QR codes one after the other is paused, then stopped.
        self.throttle.lookup_answered(restaurant_id, answer.get("reason"))
        return shared(schemas.RedemptionAnswer).dump(answer)

    @route("GET", "/v1/restaurants/<restaurant_id>/statements/<month>", serves=RESTAURANT_BOOKS,
           answer=schemas.Statement)
    def restaurant_statement(self, request, caller, restaurant_id, month):
        statement = self.redemption.restaurant_statement(restaurant_id, month)
        return schemas.Statement().dump(statement)

    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions/<redemption_id>/void",
           serves=RESTAURANT_COUNTER, answer=schemas.VoidAnswer,
           errors=("redemption_not_found", "already_voided", "statement_closed",
                   "void_window_closed"), idempotent=True)
    def void_redemption(self, request, caller, restaurant_id, redemption_id):
        """Undo one of the restaurant's own redemptions, within the program's void window."""
        voided = self.redemption.void_redemption(restaurant_id, redemption_id,
                                                 **keyed(request, caller))
        return schemas.VoidAnswer().dump(voided)

    # -- the counter's day and concerns ------------------------------------------------------

    @route("GET", "/v1/restaurants/<restaurant_id>/redemptions", serves=RESTAURANT_BOOKS,
           query=schemas.DayQuery, answer=schemas.CounterDay, errors=("restaurant_not_found",))
    def counter_day(self, request, caller, restaurant_id):
        """The day's redemptions at the counter (today by default, local): times and money."""
        on_date = load_query(schemas.DayQuery(), request).get("date")
        day = self.redemption.restaurant_day(restaurant_id,
                                             on_date.isoformat() if on_date else None)
        return schemas.CounterDay().dump(day)

    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions/<redemption_id>/concerns",
           serves=RESTAURANT_COUNTER, body=schemas.ConcernRequest,
           answer=schemas.RestaurantConcern, status=201, errors=("redemption_not_found",))
    def raise_concern(self, request, caller, restaurant_id, redemption_id):
        """A concern (気づき) about the child of one of the restaurant's own redemptions.

        It reaches the organisation that referred the household; the answer says nothing of
        the household.
        """
        concern = load_body(schemas.ConcernRequest(), request)
        raised = self.redemption.raise_concern(restaurant_id, redemption_id,
                                               concern["category"], concern["note"],
                                               **keyed(request, caller))
        return 201, schemas.RestaurantConcern().dump(raised)

    @route("GET", "/v1/restaurants/<restaurant_id>/concerns", serves=RESTAURANT_BOOKS,
           answer=schemas.RestaurantConcern(many=True))
    def restaurant_concerns(self, request, caller, restaurant_id):
        """The concerns the restaurant raised and where each stands; no household."""
        concerns = self.enrollment.restaurant_concerns(restaurant_id)
        return schemas.RestaurantConcern(many=True).dump(concerns)
