"""Signing in: staff tokens and the app's activation."""

import logging

from prometheus_client import Counter

from gateway import schemas
from gateway.auth import HOUSEHOLD, ORGANISATION, PUBLIC, RESTAURANT, Caller
from gateway.http import load_body, route

log = logging.getLogger(__name__)

TOKENS_ISSUED = Counter(
    "shokudo_gateway_tokens_issued_total",
    "Tokens handed out, by role (staff through the bootstrap key, households on activation)",
    ["role"],
)


class SignInRoutes:
    @route("POST", "/v1/auth/token", serves=PUBLIC, body=schemas.StaffTokenRequest,
           answer=schemas.Token,
           errors=("invalid_api_key", "organisation_not_found", "restaurant_not_found"))
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

    @route("POST", "/v1/app/activate", serves=PUBLIC, body=schemas.Activation,
           answer=schemas.AppToken,
           errors=("activation_code_invalid", "activation_code_not_found"))
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
