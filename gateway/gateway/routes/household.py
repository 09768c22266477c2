"""The family's app: its own ticket, QR code and history."""

from gateway import passthrough
from gateway.http import route
from gateway.routes.audiences import HOUSEHOLD_ONLY


class HouseholdRoutes:
    @route("GET", "/v1/app/me/ticket", serves=HOUSEHOLD_ONLY, answer=passthrough.Balance,
           errors=("household_not_found",))
    def my_ticket(self, request, caller):
        return self.redemption.get_balance(caller.household_id)

    @route("POST", "/v1/app/me/qr", serves=HOUSEHOLD_ONLY, answer=passthrough.QrToken,
           errors=("household_not_found", "no_ticket"))
    def my_qr_token(self, request, caller):
        return self.redemption.issue_qr_token(caller.household_id)

    @route("GET", "/v1/app/me/history", serves=HOUSEHOLD_ONLY, answer=passthrough.History,
           errors=("household_not_found",))
    def my_history(self, request, caller):
        return self.redemption.history(caller.household_id)
