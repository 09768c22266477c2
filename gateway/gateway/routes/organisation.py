"""Support organisations' routes: their households, cards and trusted restaurants.

Each route that shows or changes a household's personal data states its purpose and passes
enrollment the accessor it records (see :mod:`gateway.trail`).
"""

import base64

from werkzeug.wrappers import Response

from shokudo_common.errors import InvalidInput

from gateway import passthrough, schemas, trail
from gateway.http import CSV_TYPES, keyed, load_body, load_query, object_body, read_body, route
from gateway.routes.audiences import ORGANISATION_STAFF


class OrganisationRoutes:
    @route("POST", "/v1/organisations/<organisation_id>/households", serves=ORGANISATION_STAFF,
           body=passthrough.HouseholdBody, answer=passthrough.Household, status=201,
           errors=("household_cap_reached", "external_ref_taken"), idempotent=True,
           personal_data=True)
    def enrol_household(self, request, caller, organisation_id):
        details = object_body(request)
        return 201, self.enrollment.enrol_household(
            organisation_id, details, **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.ENROLMENT))

    @route("GET", "/v1/organisations/<organisation_id>/households", serves=ORGANISATION_STAFF,
           query=schemas.HouseholdQuery, answer=passthrough.Household(many=True),
           personal_data=True)
    def list_households(self, request, caller, organisation_id):
        status = load_query(schemas.HouseholdQuery(), request).get("status")
        return self.enrollment.list_households(
            organisation_id, status=status,
            accessor=trail.accessor(request, caller, trail.CASELOAD_REVIEW))

    @route("GET", "/v1/organisations/<organisation_id>/households/<household_id>",
           serves=ORGANISATION_STAFF, answer=passthrough.Household, personal_data=True)
    def get_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.get_household(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.CASE_REVIEW))

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/suspend",
           serves=ORGANISATION_STAFF, answer=passthrough.Household,
           errors=("household_status_conflict", "household_withdrawn"), personal_data=True)
    def suspend_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.suspend_household(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.STATUS_CHANGE))

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/reinstate",
           serves=ORGANISATION_STAFF, answer=passthrough.Household,
           errors=("household_status_conflict", "household_withdrawn"), personal_data=True)
    def reinstate_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.reinstate_household(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.STATUS_CHANGE))

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/withdraw",
           serves=ORGANISATION_STAFF, answer=passthrough.Household,
           errors=("household_status_conflict", "household_withdrawn"), personal_data=True)
    def withdraw_household(self, request, caller, organisation_id, household_id):
        return self.enrollment.withdraw_household(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.STATUS_CHANGE))

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/card/replace",
           serves=ORGANISATION_STAFF, body=passthrough.CardReplacementBody,
           answer=passthrough.CardReplacement,
           errors=("household_channel_mismatch", "household_withdrawn", "card_not_found"),
           idempotent=True, personal_data=True)
    def replace_card(self, request, caller, organisation_id, household_id):
        """A lost, stolen or damaged card: blocked, and a new number on the same ticket.

        Enrollment checks the reason; who asked is the caller as admitted here, never the body.
        """
        reason = object_body(request).get("reason")
        return self.enrollment.replace_card(
            organisation_id, household_id, reason, trail.actor(caller), **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.CARD_REPLACEMENT))

    @route("POST",
           "/v1/organisations/<organisation_id>/households/<household_id>/activation-code",
           serves=ORGANISATION_STAFF, answer=schemas.NewActivationCode,
           errors=("household_not_found", "household_withdrawn", "household_channel_mismatch"),
           personal_data=True)
    def new_activation_code(self, request, caller, organisation_id, household_id):
        """A new code for the household's app (a lost phone): its apps must activate again.

        Enrollment first, which refuses another organisation's household; only then are the
        household's device sessions ended.
        """
        issued = self.enrollment.issue_activation_code(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.ACTIVATION_CODE))
        ended = self.sessions.end_device_sessions(household_id, "new_activation_code")
        return schemas.NewActivationCode().dump({**issued, "apps_signed_out": ended})

    @route("POST", "/v1/organisations/<organisation_id>/households/import",
           serves=ORGANISATION_STAFF, accepts=CSV_TYPES, query=schemas.ImportQuery,
           answer=schemas.ImportReport,
           errors=("import_columns_invalid", "file_not_readable", "file_too_large"),
           idempotent=True, personal_data=True)
    def import_households(self, request, caller, organisation_id):
        """The organisation's spreadsheet export, byte for byte: enrollment reads its encoding."""
        dry_run = load_query(schemas.ImportQuery(), request)["dry_run"]
        spreadsheet = read_body(request)
        if not spreadsheet:
            raise InvalidInput("invalid_input", "send the CSV file as the request body",
                               {"fields": {"body": ["the CSV file is empty"]}})

        encoded = base64.b64encode(spreadsheet).decode("ascii")
        return self.enrollment.import_households(
            organisation_id, encoded, dry_run=dry_run, **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.SPREADSHEET_IMPORT))

    @route("GET", "/v1/organisations/<organisation_id>/audit", serves=ORGANISATION_STAFF,
           query=schemas.TrailQuery, answer=schemas.TrailPage, errors=("invalid_input",))
    def organisation_audit(self, request, caller, organisation_id):
        """Who read or changed the personal data of the organisation's households, and why."""
        page = self.enrollment.access_trail(
            trail.trail_query(request, organisation_id=organisation_id))
        return schemas.TrailPage().dump(page)

    # -- organisations: restaurants they trust ---------------------------------------------

    @route("POST", "/v1/organisations/<organisation_id>/restaurants", serves=ORGANISATION_STAFF,
           body=passthrough.NominationBody, answer=passthrough.Restaurant, status=201)
    def nominate_restaurant(self, request, caller, organisation_id):
        details = object_body(request)
        organisation = self.enrollment.get_organisation(organisation_id)

        # Where and by whom comes from the organisation itself, never from the body.
        nomination = {**details, "region_id": organisation["region_id"],
                      "organisation_id": organisation_id}
        return 201, self.directory.nominate_restaurant(nomination)

    @route("GET", "/v1/organisations/<organisation_id>/restaurants", serves=ORGANISATION_STAFF,
           answer=passthrough.Restaurant(many=True))
    def organisation_restaurants(self, request, caller, organisation_id):
        organisation = self.enrollment.get_organisation(organisation_id)
        return self.directory.list_restaurants(organisation["region_id"],
                                               organisation_id=organisation_id)

    # -- organisations: spreadsheets, cards and letters --------------------------------------

    @route("GET", "/v1/organisations/<organisation_id>/households.csv",
           serves=ORGANISATION_STAFF, query=schemas.HouseholdQuery, produces="text/csv",
           personal_data=True)
    def export_households(self, request, caller, organisation_id):
        """The organisation's households as a CSV file for Excel, to edit and import again."""
        status = load_query(schemas.HouseholdQuery(), request).get("status")
        text = self.enrollment.export_households(
            organisation_id, status=status,
            accessor=trail.accessor(request, caller, trail.SPREADSHEET_EXPORT))
        return document(text.encode("utf-8"), "text/csv", "households.csv")

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/card",
           serves=ORGANISATION_STAFF, answer=schemas.OrganisationHousehold, status=201,
           errors=("card_in_use", "household_withdrawn"), idempotent=True, personal_data=True)
    def issue_card(self, request, caller, organisation_id, household_id):
        """A first card, or a card instead of the app; after a lost card was blocked, the next."""
        return 201, self.enrollment.issue_card(
            organisation_id, household_id, **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.CARD_ISSUE))

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/card/block",
           serves=ORGANISATION_STAFF, body=schemas.CardBlockBody, answer=schemas.CardBlockAnswer,
           errors=("card_not_found", "household_channel_mismatch", "household_withdrawn"),
           idempotent=True, personal_data=True)
    def block_card(self, request, caller, organisation_id, household_id):
        """A lost card refused at the counter at once, before a new one is issued."""
        reason = load_body(schemas.CardBlockBody(), request)["reason"]
        return self.enrollment.block_card(
            organisation_id, household_id, reason, trail.actor(caller), **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.CARD_BLOCK))

    @route("GET", "/v1/organisations/<organisation_id>/cards.pdf", serves=ORGANISATION_STAFF,
           query=schemas.CardSheetQuery, produces="application/pdf",
           errors=("card_not_found", "household_not_active", "household_channel_mismatch",
                   "no_cards_to_print"), personal_data=True)
    def card_sheet(self, request, caller, organisation_id):
        """Cards to print and cut out (A4 PDF): one household's, or every active card's."""
        household_id = load_query(schemas.CardSheetQuery(), request).get("household_id")
        sheet = self.enrollment.card_sheet(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.CARD_PRINTING))
        return document(base64.b64decode(sheet["pdf_base64"]), "application/pdf", "cards.pdf")

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/app-letter",
           serves=ORGANISATION_STAFF, produces="application/pdf",
           errors=("household_channel_mismatch", "household_withdrawn"), personal_data=True)
    def app_letter(self, request, caller, organisation_id, household_id):
        """A letter (A4 PDF) with a fresh activation code; the code given before stops working.

        Like any new code, it signs out the household's apps: the letter is what a family with
        a lost phone gets.
        """
        letter = self.enrollment.app_letter(
            organisation_id, household_id,
            accessor=trail.accessor(request, caller, trail.APP_LETTER))
        self.sessions.end_device_sessions(household_id, "new_activation_code")
        return document(base64.b64decode(letter["pdf_base64"]), "application/pdf",
                        "app-letter.pdf")

    # -- organisations: staying connected (usage, concerns, moves) -------------------------

    @route("GET", "/v1/organisations/<organisation_id>/usage", serves=ORGANISATION_STAFF,
           query=schemas.UsageQuery, answer=schemas.UsageAnswer,
           errors=("organisation_not_found",), personal_data=True)
    def organisation_usage(self, request, caller, organisation_id):
        """Each household's ticket this period: granted, used, left, last use, reach out.

        ``period`` is the tickets' issuance month, by default the one in use today in the
        region; ``reach_out=true`` lists only the households to reach out to.
        """
        query = load_query(schemas.UsageQuery(), request)
        organisation = self.enrollment.get_organisation(organisation_id)
        usage = self.redemption.organisation_usage(
            organisation_id, organisation["region_id"], period=query.get("period"),
            reach_out_only=query["reach_out"],
        )
        # The organisation knows its households by its own reference numbers (管理番号).
        households = self.enrollment.list_households(
            organisation_id, accessor=trail.accessor(request, caller, trail.USAGE_REVIEW))
        references = {household["id"]: household.get("external_ref")
                      for household in households}
        for line in usage["households"]:
            line["external_ref"] = references.get(line["household_id"])
        return schemas.UsageAnswer().dump(usage)

    @route("POST", "/v1/organisations/<organisation_id>/households/<household_id>/move",
           serves=ORGANISATION_STAFF, body=schemas.MoveRequest,
           answer=passthrough.MovedHousehold,
           errors=("household_not_found", "household_cap_reached", "household_withdrawn",
                   "household_already_there", "organisation_other_region",
                   "external_ref_taken"), idempotent=True, personal_data=True)
    def move_household(self, request, caller, organisation_id, household_id):
        """The family moved: the household goes to another organisation of the region."""
        move = load_body(schemas.MoveRequest(), request)
        return self.enrollment.move_household(
            organisation_id, household_id, move["to_organisation_id"], **keyed(request, caller),
            accessor=trail.accessor(request, caller, trail.HOUSEHOLD_MOVE))

    @route("GET", "/v1/organisations/<organisation_id>/concerns", serves=ORGANISATION_STAFF,
           query=schemas.ConcernQuery, answer=schemas.OrganisationConcern(many=True),
           errors=("organisation_not_found",), personal_data=True)
    def list_concerns(self, request, caller, organisation_id):
        """Concerns (気づき) restaurants raised about the organisation's households."""
        status = load_query(schemas.ConcernQuery(), request).get("status")
        concerns = self.enrollment.list_concerns(
            organisation_id, status=status,
            accessor=trail.accessor(request, caller, trail.CONCERN_REVIEW))
        return schemas.OrganisationConcern(many=True).dump(concerns)

    @route("POST", "/v1/organisations/<organisation_id>/concerns/<concern_id>/acknowledge",
           serves=ORGANISATION_STAFF, answer=schemas.OrganisationConcern,
           errors=("concern_not_found", "concern_closed"), personal_data=True)
    def acknowledge_concern(self, request, caller, organisation_id, concern_id):
        """The concern has been seen and someone follows up."""
        concern = self.enrollment.acknowledge_concern(
            organisation_id, concern_id,
            accessor=trail.accessor(request, caller, trail.CONCERN_REVIEW))
        return schemas.OrganisationConcern().dump(concern)

    @route("POST", "/v1/organisations/<organisation_id>/concerns/<concern_id>/close",
           serves=ORGANISATION_STAFF, answer=schemas.OrganisationConcern,
           errors=("concern_not_found",), personal_data=True)
    def close_concern(self, request, caller, organisation_id, concern_id):
        """The concern has been dealt with."""
        concern = self.enrollment.close_concern(
            organisation_id, concern_id,
            accessor=trail.accessor(request, caller, trail.CONCERN_REVIEW))
        return schemas.OrganisationConcern().dump(concern)


def document(content, mimetype, filename):
    """A file to save or print; never kept by a browser or proxy, as it names families."""
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
