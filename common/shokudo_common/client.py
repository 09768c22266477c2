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
    def __init__(self, base_url, token=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.timeout = timeout

    def as_(self, token):
        """The same gateway, speaking with another token."""
        return GatewayClient(self.base_url, token, self.timeout)

    def request(self, method, path, expect=(200, 201), **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.session.request(
            method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
        )
        if expect and response.status_code not in expect:
            raise ApiError(response)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs).json()

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs).json()

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs).json()

    def staff_token(self, api_key, role, **scope):
        body = {"api_key": api_key, "role": role, **scope}
        return self.post("/v1/auth/token", body)["access_token"]
