"""Printable lists of partner restaurants, for organisations to hand to card families.

The operator prints any region's list under the region; support-organisation staff print
their own region's under their organisation (every route an organisation reaches names its
organisation, so that its token's scope is checked; the region is the organisation's own).
The files are made by the directory and passed on byte for byte.
"""

import base64

from werkzeug.wrappers import Response

from gateway.http import route
from gateway.routes.audiences import OPERATOR_ONLY, ORGANISATION_STAFF


class RestaurantListRoutes:
    @route("GET", "/v1/regions/<region_id>/restaurants/list.csv", serves=OPERATOR_ONLY,
           produces="text/csv")
    def region_restaurant_list_csv(self, request, caller, region_id):
        """The region's partner restaurants by area: a CSV file Excel opens as it is."""
        return self._csv(region_id)

    @route("GET", "/v1/regions/<region_id>/restaurants/list.pdf", serves=OPERATOR_ONLY,
           produces="application/pdf")
    def region_restaurant_list_pdf(self, request, caller, region_id):
        """The region's partner restaurants by area, as an A4 PDF ready to print."""
        return self._pdf(region_id)

    @route("GET", "/v1/organisations/<organisation_id>/restaurants/list.csv",
           serves=ORGANISATION_STAFF, produces="text/csv")
    def organisation_restaurant_list_csv(self, request, caller, organisation_id):
        """The partner restaurants of the organisation's region, as CSV."""
        return self._csv(self._region_of(organisation_id))

    @route("GET", "/v1/organisations/<organisation_id>/restaurants/list.pdf",
           serves=ORGANISATION_STAFF, produces="application/pdf")
    def organisation_restaurant_list_pdf(self, request, caller, organisation_id):
        """The partner restaurants of the organisation's region, as an A4 PDF."""
        return self._pdf(self._region_of(organisation_id))

    def _region_of(self, organisation_id):
        return self.enrollment.get_organisation(organisation_id)["region_id"]

    def _csv(self, region_id):
        text = self.directory.printable_list_csv(region_id)
        return _download(text.encode("utf-8"), "text/csv; charset=utf-8",
                         f"restaurants-{region_id}.csv")

    def _pdf(self, region_id):
        document = base64.b64decode(self.directory.printable_list_pdf(region_id))
        return _download(document, "application/pdf", f"restaurants-{region_id}.pdf")


def _download(content, mimetype, filename):
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
    })
