"""The gateway's routes: who each one serves, what it checks, and which service answers.

Every route is a few lines: the decorator admits the caller (see :mod:`gateway.auth`) and checks
the path, the body is parsed and checked where the gateway can, and one service call answers.
Errors, JSON and the correlation id are handled once, in :mod:`gateway.http`.
"""

import base64
import logging
from functools import partial

from nameko_prometheus import PrometheusMetrics
from prometheus_client import Counter
from werkzeug.wrappers import Response

from shokudo_common.errors import InvalidInput
from shokudo_common.logs import CorrelationId
from shokudo_common.rpc import ServiceRpc

from gateway import accounts as books
from gateway import schemas
from gateway.asking import ask_at_once
from gateway.auth import (HOUSEHOLD, OPERATOR, ORGANISATION, PUBLIC, RESTAURANT, Caller,
                          Tokens)
from gateway.http import (keyed, load_body, load_query, object_body, read_body, route,
                          with_idempotency_key)

log = logging.getLogger(__name__)

OPERATOR_ONLY = (OPERATOR,)
ORGANISATION_STAFF = (OPERATOR, ORGANISATION)
RESTAURANT_COUNTER = (RESTAURANT,)
RESTAURANT_BOOKS = (OPERATOR, RESTAURANT)
HOUSEHOLD_ONLY = (HOUSEHOLD,)

TOKENS_ISSUED = Counter(
    "shokudo_gateway_tokens_issued_total",
    "Tokens handed out, by role (staff through the bootstrap key, households on activation)",
    ["role"],
)


class GatewayService:
    name = "gateway"

    correlation = CorrelationId()
    metrics = PrometheusMetrics()
    tokens = Tokens()

    directory = ServiceRpc("directory")
    enrollment = ServiceRpc("enrollment")
    issuance = ServiceRpc("issuance")
    redemption = ServiceRpc("redemption")
    notification = ServiceRpc("notification")

    # -- operations ------------------------------------------------------------------------

    @route("GET", "/health", serves=PUBLIC)
    def health(self, request, caller):
        """Alive and serving HTTP; each service behind reports its own health."""
        return {"status": "ok"}

    @route("GET", "/metrics", serves=PUBLIC)
    def serve_metrics(self, request, caller):
        return self.metrics.expose_metrics(request)

    # -- signing in ------------------------------------------------------------------------

    @route("POST", "/v1/auth/token", serves=PUBLIC)
    def staff_token(self, request, caller):
        """A staff token for whoever holds the bootstrap key.

        Stop-gap until staff sign in with their own passwords (a later issue): that sign-in
        replaces the key check here and keeps the token as it is.
        """
        asked = load_body(schemas.StaffTokenRequest(), request)
        self.tokens.check_bootstrap_key(asked["api_key"])

        staff = Caller(asked["role"], organisation_id=asked.get("organisation_id"),
                       restaurant_id=asked.get("restaurant_id"))
        self._check_exists(staff)
        return self._token_for(staff)

    @route("POST", "/v1/app/activate", serves=PUBLIC)
    def activate_app(self, request, caller):
        """The app trades the household's single-use activation code for a token.

        Known gaps: the token lasts one hour like every other and the code works once, so
        after an hour the app needs a new code from its organisation (enrollment's
        issue_activation_code, not yet a route) until a longer-lived device credential exists;
        and nothing here limits how fast codes are guessed (nor api keys, above).
        """
        code = load_body(schemas.Activation(), request)["activation_code"]
        household = self.enrollment.activate_app(code)

        token = self._token_for(Caller(HOUSEHOLD, household_id=household["household_id"]))
        return {**token, "household_id": household["household_id"],
                "region_id": household["region_id"],
                "organisation_id": household["organisation_id"]}

    # -- public ----------------------------------------------------------------------------

    @route("GET", "/v1/regions/<region_id>/restaurants", serves=PUBLIC)
    def public_restaurants(self, request, caller, region_id):
        restaurants = self.directory.list_restaurants(region_id, status="active")
        return schemas.PublicRestaurant(many=True).dump(restaurants)

    # -- operator: regions, programs, issuance ---------------------------------------------

    @route("PUT", "/v1/regions/<region_id>/program", serves=OPERATOR_ONLY)
    def put_program(self, request, caller, region_id):
        return self.issuance.upsert_program(region_id, object_body(request))

    @route("GET", "/v1/regions/<region_id>/program", serves=OPERATOR_ONLY)
    def get_program(self, request, caller, region_id):
        return self.issuance.get_program(region_id)

    @route("POST", "/v1/regions/<region_id>/organisations", serves=OPERATOR_ONLY)
    def create_organisation(self, request, caller, region_id):
        details = object_body(request)
        # An organisation in a region without a program could never give out a ticket.
        self.issuance.get_program(region_id)
        return 201, self.enrollment.create_organisation({**details, "region_id": region_id})

    @route("GET", "/v1/regions/<region_id>/organisations", serves=OPERATOR_ONLY)
    def list_organisations(self, request, caller, region_id):
        return self.enrollment.list_organisations(region_id)

    @route("POST", "/v1/regions/<region_id>/issuance-runs", serves=OPERATOR_ONLY)
    def start_issuance_run(self, request, caller, region_id):
        """Starts the period's run, or answers the run already there: 200 either way."""
        period = load_body(schemas.RunRequest(), request)["period"]
        return self.issuance.start_run(region_id, period, **keyed(request, caller))

    @route("GET", "/v1/regions/<region_id>/issuance-runs/<period>", serves=OPERATOR_ONLY)
    def get_issuance_run(self, request, caller, region_id, period):
        return self.issuance.get_run(region_id, period)

    @route("GET", "/v1/regions/<region_id>/roster-count", serves=OPERATOR_ONLY)
    def roster_count(self, request, caller, region_id):
        return {"region_id": region_id, "count": self.issuance.roster_count(region_id)}

    @route("GET", "/v1/regions/<region_id>/summary", serves=OPERATOR_ONLY)
    def region_summary(self, request, caller, region_id):
        """A month of the region for funders: households, money redeemed, messages sent."""
        month = load_query(schemas.MonthQuery(), request)["month"]

        households, redemptions, deliveries = ask_at_once(
            partial(self.enrollment.household_counts, region_id),
            partial(self.redemption.region_summary, region_id, month),
            partial(self.notification.delivery_summary, region_id=region_id),
        )

        # Each part keyed by the service that answers for it.
        return {"region_id": region_id, "month": month, "enrollment": households,
                "redemption": redemptions, "notification": deliveries}

    # -- operator: the books ---------------------------------------------------------------

    @route("GET", "/v1/regions/<region_id>/settlements/<month>.csv", serves=OPERATOR_ONLY)
    def settlement_csv(self, request, caller, region_id, month):
        """What is owed to each restaurant for the month: a CSV file Excel opens as it is."""
        text = self.redemption.settlement_csv(region_id, month)
        return Response(text.encode("utf-8"), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="settlement-{region_id}-{month}.csv"',
        })

    @route("GET", "/v1/regions/<region_id>/accounts/<period>", serves=OPERATOR_ONLY)
    def accounts(self, request, caller, region_id, period):
        """Grants against tickets for one period: balanced or not, and every difference."""
        grants, tickets = ask_at_once(
            partial(self.issuance.grant_accounts, region_id, period),
            partial(self.redemption.ticket_accounts, region_id, period),
        )
        return books.compare(grants, tickets)

    @route("POST", "/v1/restaurants/<restaurant_id>/statements/<month>/close",
           serves=OPERATOR_ONLY)
    def close_statement(self, request, caller, restaurant_id, month):
        """No void of the month's redemptions after this; closing again changes nothing."""
        closed = self.redemption.close_statement(restaurant_id, month)
        return schemas.ClosedStatement().dump(closed)

    # -- operator: restaurants -------------------------------------------------------------

    @route("POST", "/v1/restaurants/<restaurant_id>/approve", serves=OPERATOR_ONLY)
    def approve_restaurant(self, request, caller, restaurant_id):
        return self.directory.approve_restaurant(restaurant_id)

    @route("POST", "/v1/restaurants/<restaurant_id>/suspend", serves=OPERATOR_ONLY)
    def suspend_restaurant(self, request, caller, restaurant_id):
        reason = load_body(schemas.Suspension(), request)["reason"]
        return self.directory.suspend_restaurant(restaurant_id, reason)

    @route("POST", "/v1/restaurants/<restaurant_id>/reinstate", serves=OPERATOR_ONLY)
    def reinstate_restaurant(self, request, caller, restaurant_id):
        return self.directory.reinstate_restaurant(restaurant_id)

    # -- organisations: households ---------------------------------------------------------

    @route("POST", "/v1/organisations/<organisation_id>/households", serves=ORGANISATION_STAFF)
    def enrol_household(self, request, caller, organisation_id):
        details = object_body(request)
        return 201, self.enrollment.enrol_household(organisation_id, details,
                                                    **keyed(request, caller))

    @route("GET", "/v1/organisations/<organisation_id>/households", serves=ORGANISATION_STAFF)
    def list_households(self, request, caller, organisation_id):
        status = load_query(schemas.HouseholdQuery(), request).get("status")
        return self.enrollment.list_households(organisation_id, status=status)

    @route("GET", "/v1/organisations/<organisation_id>/households/<household_id>",
           serves=ORGANISATION_STAFF)
    def get_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.get_household(organisation_id, household_id)

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/suspend",
           serves=ORGANISATION_STAFF)
    def suspend_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.suspend_household(organisation_id, household_id)

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/reinstate",
           serves=ORGANISATION_STAFF)
    def reinstate_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.reinstate_household(organisation_id, household_id)

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/withdraw",
           serves=ORGANISATION_STAFF)
    def withdraw_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.withdraw_household(organisation_id, household_id)

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/card/replace",
           serves=ORGANISATION_STAFF)
    def replace_card(self, request, caller, organisation_id, household_id):
        """A lost, stolen or damaged card: blocked, and a new number on the same ticket.

        Enrollment checks the reason; who asked is the caller as admitted here, never the body.
        """
        reason = object_body(request).get("reason")
        replaced_by = ":".join([caller.role, *caller.scope_claims().values()])
        return self.enrollment.replace_card(organisation_id, household_id, reason, replaced_by,
                                            **keyed(request, caller))

    @route("POST", "/v1/organisations/<organisation_id>/households/import",
           serves=ORGANISATION_STAFF)
    def import_households(self, request, caller, organisation_id):
        """The organisation's spreadsheet export, byte for byte: enrollment reads its encoding."""
        dry_run = load_query(schemas.ImportQuery(), request)["dry_run"]
        spreadsheet = read_body(request)
        if not spreadsheet:
            raise InvalidInput("invalid_input", "send the CSV file as the request body",
                               {"fields": {"body": ["the CSV file is empty"]}})

        encoded = base64.b64encode(spreadsheet).decode("ascii")
        return self.enrollment.import_households(organisation_id, encoded, dry_run=dry_run,
                                                 **keyed(request, caller))

    # -- organisations: restaurants they trust ---------------------------------------------

    @route("POST", "/v1/organisations/<organisation_id>/restaurants", serves=ORGANISATION_STAFF)
    def nominate_restaurant(self, request, caller, organisation_id):
        details = object_body(request)
        organisation = self.enrollment.get_organisation(organisation_id)

        # Where and by whom comes from the organisation itself, never from the body.
        nomination = {**details, "region_id": organisation["region_id"],
                      "organisation_id": organisation_id}
        return 201, self.directory.nominate_restaurant(nomination)

    @route("GET", "/v1/organisations/<organisation_id>/restaurants", serves=ORGANISATION_STAFF)
    def organisation_restaurants(self, request, caller, organisation_id):
        organisation = self.enrollment.get_organisation(organisation_id)
        return self.directory.list_restaurants(organisation["region_id"],
                                               organisation_id=organisation_id)

    # -- restaurants -----------------------------------------------------------------------

    @route("POST", "/v1/restaurants/<restaurant_id>/redemptions", serves=RESTAURANT_COUNTER)
    def redeem(self, request, caller, restaurant_id):
        """A bill paid with a ticket. A decline is an answer for the counter, not an error."""
        bill = with_idempotency_key(request, load_body(schemas.RedemptionRequest(), request))
        answer = self.redemption.redeem({**bill, "restaurant_id": restaurant_id})
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

    # -- households ------------------------------------------------------------------------

    @route("GET", "/v1/app/me/ticket", serves=HOUSEHOLD_ONLY)
    def my_ticket(self, request, caller):
        return self.redemption.get_balance(caller.household_id)

    @route("POST", "/v1/app/me/qr", serves=HOUSEHOLD_ONLY)
    def my_qr_token(self, request, caller):
        return self.redemption.issue_qr_token(caller.household_id)

    @route("GET", "/v1/app/me/history", serves=HOUSEHOLD_ONLY)
    def my_history(self, request, caller):
        return self.redemption.history(caller.household_id)

    # -- helpers ---------------------------------------------------------------------------

    def _check_exists(self, staff):
        """No token for an organisation or restaurant that does not exist (404 otherwise)."""
        if staff.role == ORGANISATION:
            self.enrollment.get_organisation(staff.organisation_id)
        if staff.role == RESTAURANT:
            self.directory.get_restaurant(staff.restaurant_id)

    def _token_for(self, caller):
        TOKENS_ISSUED.labels(caller.role).inc()
        log.info("token issued", extra={"role": caller.role, **caller.scope_claims()})
        return self.tokens.issue(caller)
