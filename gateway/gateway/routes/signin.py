"""Signing in: staff with their login and password, the app with its activation code.

Both open a session (:mod:`gateway.sessions`) and answer a short access token with a refresh
token; both renew through ``/v1/auth/refresh`` and end through ``/v1/auth/sign-out``.
"""

from gateway import schemas
from gateway.auth import PUBLIC
from gateway.http import load_body, route
from gateway.staff import normalise_login

SIGN_IN_ERRORS = ("invalid_credentials", "account_disabled", "rate_limited")
REFRESH_ERRORS = ("invalid_refresh_token", "refresh_token_reused", "account_disabled")


class SignInRoutes:
    @route("POST", "/v1/auth/sign-in", serves=PUBLIC, body=schemas.SignIn,
           answer=schemas.StaffTokens, errors=SIGN_IN_ERRORS)
    def sign_in(self, request, caller):
        """A staff member's login and password for an access token and a refresh token."""
        asked = load_body(schemas.SignIn(), request)
        self.throttle.hit("sign_in_per_address", self.throttle.client_address(request))
        self.throttle.hit("sign_in_per_login", normalise_login(asked["login"]))

        signed_in = self.sessions.sign_in(asked["login"], asked["password"])
        return schemas.StaffTokens().dump(signed_in)

    @route("POST", "/v1/auth/refresh", serves=PUBLIC, body=schemas.RefreshRequest,
           answer=schemas.StaffTokens, errors=REFRESH_ERRORS)
    def refresh(self, request, caller):
        """The next access token and refresh token; the one sent is used up.

        A refresh token sent a second time ends its whole session: one of its two holders
        is not who the session was opened for.
        """
        refresh_token = load_body(schemas.RefreshRequest(), request)["refresh_token"]
        renewed = self.sessions.refresh(refresh_token)
        answer = schemas.DeviceTokens() if renewed["role"] == "household" else \
            schemas.StaffTokens()
        return answer.dump(renewed)

    @route("POST", "/v1/auth/sign-out", serves=PUBLIC, body=schemas.RefreshRequest,
           answer=schemas.SignedOut)
    def sign_out(self, request, caller):
        """End the session of a refresh token; its access tokens are refused from now on."""
        refresh_token = load_body(schemas.RefreshRequest(), request)["refresh_token"]
        self.sessions.sign_out(refresh_token)
        return {"signed_out": True}

    @route("POST", "/v1/app/activate", serves=PUBLIC, body=schemas.Activation,
           answer=schemas.DeviceTokens, errors=("activation_code_invalid", "rate_limited"))
    def activate_app(self, request, caller):
        """The app trades the household's single-use activation code for a device session.

        The session lasts as long as the app refreshes at least once in 180 days; a new code
        issued by the organisation ends it.
        """
        code = load_body(schemas.Activation(), request)["activation_code"]
        self.throttle.hit("activation_per_address", self.throttle.client_address(request))

        household = self.enrollment.activate_app(code)
        return schemas.DeviceTokens().dump(self.sessions.activate(household))
