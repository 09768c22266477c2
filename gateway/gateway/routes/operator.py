"""The operator's routes: regions, programs, issuance, the books and restaurants."""

from functools import partial

from werkzeug.wrappers import Response

from gateway import accounts as books
from gateway import passthrough, schemas, trail
from gateway.asking import ask_at_once
from gateway.http import keyed, load_body, load_query, object_body, route
from gateway.routes.audiences import OPERATOR_ONLY


class OperatorRoutes:
    @route("PUT", "/v1/regions/<region_id>/program", serves=OPERATOR_ONLY,
           body=passthrough.ProgramBody, answer=passthrough.Program)
    def put_program(self, request, caller, region_id):
        return self.issuance.upsert_program(region_id, object_body(request))

    @route("GET", "/v1/regions/<region_id>/program", serves=OPERATOR_ONLY,
           answer=passthrough.Program, errors=("program_not_found",))
    def get_program(self, request, caller, region_id):
        return self.issuance.get_program(region_id)

    @route("POST", "/v1/regions/<region_id>/organisations", serves=OPERATOR_ONLY,
           body=passthrough.OrganisationBody, answer=passthrough.Organisation, status=201,
           errors=("program_not_found",))
    def create_organisation(self, request, caller, region_id):
        details = object_body(request)
        # An organisation in a region without a program could never give out a ticket.
        self.issuance.get_program(region_id)
        return 201, self.enrollment.create_organisation({**details, "region_id": region_id})

    @route("GET", "/v1/regions/<region_id>/organisations", serves=OPERATOR_ONLY,
           answer=passthrough.Organisation(many=True))
    def list_organisations(self, request, caller, region_id):
        return self.enrollment.list_organisations(region_id)

    @route("POST", "/v1/regions/<region_id>/issuance-runs", serves=OPERATOR_ONLY,
           body=schemas.RunRequest, answer=passthrough.IssuanceRun,
           errors=("program_not_found", "period_not_started"), idempotent=True)
    def start_issuance_run(self, request, caller, region_id):
        """Starts the period's run, or answers the run already there: 200 either way.

        A large region's run answers ``running`` after a few seconds and carries on; its
        ``GET`` shows its progress.
        """
        period = load_body(schemas.RunRequest(), request)["period"]
        return self.issuance.start_run(region_id, period, **keyed(request, caller))

    @route("GET", "/v1/regions/<region_id>/issuance-runs/<period>", serves=OPERATOR_ONLY,
           answer=passthrough.IssuanceRun, errors=("run_not_found",))
    def get_issuance_run(self, request, caller, region_id, period):
        return self.issuance.get_run(region_id, period)

    @route("GET", "/v1/regions/<region_id>/roster-count", serves=OPERATOR_ONLY,
           answer=passthrough.RosterCount)
    def roster_count(self, request, caller, region_id):
        return {"region_id": region_id, "count": self.issuance.roster_count(region_id)}

    @route("GET", "/v1/regions/<region_id>/summary", serves=OPERATOR_ONLY,
           query=schemas.MonthQuery, answer=passthrough.RegionSummary)
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

    @route("GET", "/v1/regions/<region_id>/audit", serves=OPERATOR_ONLY,
           query=schemas.TrailQuery, answer=schemas.TrailPage, errors=("invalid_input",))
    def region_audit(self, request, caller, region_id):
        """Who read or changed households' personal data across the region, and why."""
        page = self.enrollment.access_trail(trail.trail_query(request, region_id=region_id))
        return schemas.TrailPage().dump(page)

    # -- operator: the books ---------------------------------------------------------------

    @route("GET", "/v1/regions/<region_id>/settlements/<month>.csv", serves=OPERATOR_ONLY,
           produces="text/csv")
    def settlement_csv(self, request, caller, region_id, month):
        """What is owed to each restaurant for the month: a CSV file Excel opens as it is."""
        text = self.redemption.settlement_csv(region_id, month)
        return Response(text.encode("utf-8"), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="settlement-{region_id}-{month}.csv"',
        })

    @route("GET", "/v1/regions/<region_id>/accounts/<period>", serves=OPERATOR_ONLY,
           answer=passthrough.Accounts)
    def accounts(self, request, caller, region_id, period):
        """Grants against tickets for one period: balanced or not, and every difference."""
        grants, tickets = ask_at_once(
            partial(self.issuance.grant_accounts, region_id, period),
            partial(self.redemption.ticket_accounts, region_id, period),
        )
        return books.compare(grants, tickets)

    @route("POST", "/v1/restaurants/<restaurant_id>/statements/<month>/close",
           serves=OPERATOR_ONLY, answer=schemas.ClosedStatement, errors=("month_not_over",))
    def close_statement(self, request, caller, restaurant_id, month):
        """No void of the month's redemptions after this; closing again changes nothing."""
        closed = self.redemption.close_statement(restaurant_id, month)
        return schemas.ClosedStatement().dump(closed)

    # -- operator: restaurants -------------------------------------------------------------

    @route("POST", "/v1/restaurants/<restaurant_id>/approve", serves=OPERATOR_ONLY,
           answer=passthrough.Restaurant, errors=("restaurant_status_conflict",))
    def approve_restaurant(self, request, caller, restaurant_id):
        return self.directory.approve_restaurant(restaurant_id)

    @route("POST", "/v1/restaurants/<restaurant_id>/suspend", serves=OPERATOR_ONLY,
           body=schemas.Suspension, answer=passthrough.Restaurant,
           errors=("restaurant_status_conflict",))
    def suspend_restaurant(self, request, caller, restaurant_id):
        reason = load_body(schemas.Suspension(), request)["reason"]
        return self.directory.suspend_restaurant(restaurant_id, reason)

    @route("POST", "/v1/restaurants/<restaurant_id>/reinstate", serves=OPERATOR_ONLY,
           answer=passthrough.Restaurant, errors=("restaurant_status_conflict",))
    def reinstate_restaurant(self, request, caller, restaurant_id):
        return self.directory.reinstate_restaurant(restaurant_id)
