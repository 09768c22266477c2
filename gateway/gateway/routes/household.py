"""The family's app: its own ticket, QR code and history, and the device it is reached on."""

from gateway import passthrough, schemas
from gateway.http import load_body, route
from gateway.routes.audiences import HOUSEHOLD_ONLY


class HouseholdRoutes:
    @route("GET", "/v1/app/me/ticket", serves=HOUSEHOLD_ONLY, answer=schemas.MyTicket,
           errors=("household_not_found",))
    def my_ticket(self, request, caller):
        """Yen left and the last local day they can be used (inclusive), and the next ticket."""
        return schemas.MyTicket().dump(self.redemption.get_balance(caller.household_id))

    @route("POST", "/v1/app/me/qr", serves=HOUSEHOLD_ONLY, answer=passthrough.QrToken,
           errors=("household_not_found", "no_ticket"))
    def my_qr_token(self, request, caller):
        """A QR code for the counter: a signed token for this ticket, good once, for 120 s."""
        return self.redemption.issue_qr_token(caller.household_id)

    @route("GET", "/v1/app/me/history", serves=HOUSEHOLD_ONLY, answer=schemas.MyHistory,
           errors=("household_not_found",))
    def my_history(self, request, caller):
        """Every use of the ticket: restaurant, local date and yen, newest first."""
        return schemas.MyHistory().dump(self.redemption.history(caller.household_id))

    @route("POST", "/v1/app/me/push-token", serves=HOUSEHOLD_ONLY,
           body=schemas.PushTokenRequest, answer=schemas.PushDevice)
    def my_push_token(self, request, caller):
        """The device this app is reached on by push messages; a new one replaces the old.

        Notification keeps it (it owns how families are reached) and writes to it when the
        family prefers app notifications.
        """
        device = load_body(schemas.PushTokenRequest(), request)
        registered = self.notification.register_push_token(
            caller.household_id, device["token"], device["platform"])
        return schemas.PushDevice().dump(registered)
