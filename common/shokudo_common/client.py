"""A small client of the gateway's HTTP API, used by the demo and the end-to-end tests."""

import requests


class ApiError(RuntimeError):
    """An error answer: the gateway's problem details (RFC 9457) as ``body``, its ``code``."""

    def __init__(self, response):
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = {"raw": response.text[:500]}
        self.code = self.body.get("code") if isinstance(self.body, dict) else None
        super().__init__(f"{response.request.method} {response.url} -> {self.status}: {self.body}")


class GatewayClient:
    def __init__(self, base_url, token=None, timeout=30, refresh_token=None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        # With a refresh token, an expired access token (15 minutes) is renewed on the way.
        self.refresh_token = refresh_token
        self.session = requests.Session()
        self.timeout = timeout

    def as_(self, token, refresh_token=None):
        """The same gateway, speaking with another token."""
        return GatewayClient(self.base_url, token, self.timeout, refresh_token)

    def request(self, method, path, expect=(200, 201), **kwargs):
        response = self._send(method, path, dict(kwargs))
        if response.status_code == 401 and self.refresh_token and _expired(response):
            self._renew()
            response = self._send(method, path, kwargs)
        if expect and response.status_code not in expect:
            raise ApiError(response)
        return response

    def _send(self, method, path, kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
        )

    def _renew(self):
        renewed = self.session.post(self.base_url + "/v1/auth/refresh", timeout=self.timeout,
                                    json={"refresh_token": self.refresh_token})
        if renewed.status_code != 200:
            raise ApiError(renewed)
        self.token = renewed.json()["access_token"]
        self.refresh_token = renewed.json()["refresh_token"]

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs).json()

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs).json()

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs).json()

    def sign_in(self, login, password):
        """The same gateway, signed in as the staff account ``login``."""
        signed_in = self.post("/v1/auth/sign-in", {"login": login, "password": password})
        return self.as_(signed_in["access_token"], signed_in["refresh_token"])


def _expired(response):
    try:
        return response.json()["code"] == "token_expired"
    except (ValueError, KeyError, TypeError):
        return False
