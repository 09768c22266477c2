"""Headers every answer carries: browser safety, caching, and CORS for the platform's own apps.

The gateway is meant to face the internet directly, so each answer tells browsers to use HTTPS
only, not to guess content types, not to frame it, not to pass the URL on as a referrer, and
not to run or load anything from a JSON answer. Answers are never stored by caches unless a
route says otherwise (only the API document and its page do): most carry personal data or
tokens.

CORS lets the apps served from the origins in ``GATEWAY_CORS_ORIGINS`` (comma separated, exact
``scheme://host[:port]``) call the API from a browser. Tokens travel in the Authorization
header, never in cookies, so credentials are not allowed; a preflight ``OPTIONS`` is answered
here, before any route runs.
"""

from werkzeug.wrappers import Response

from shokudo_common.logs import CORRELATION_HEADER

# Two years, as the HSTS preload list asks.
HSTS = "max-age=63072000; includeSubDomains"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"

SECURITY_HEADERS = {
    "Strict-Transport-Security": HSTS,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": JSON_POLICY,
    "Cache-Control": "no-store",
}

# What a browser app may send and read beyond the CORS-safelisted headers: each header a route
# reads (X-Access-Reason: why staff open a household's personal data, gateway.trail).
ALLOWED_REQUEST_HEADERS = ("Authorization, Content-Type, Idempotency-Key, X-Access-Reason, "
                           "X-Correlation-Id")
EXPOSED_HEADERS = f"{CORRELATION_HEADER}, Retry-After, Content-Disposition, WWW-Authenticate"
PREFLIGHT_MAX_AGE_SECONDS = 600


def secure(response):
    """``response`` with every safety header it does not set itself (a page sets its CSP)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class Cors:
    """The origins whose browser apps may call the API."""

    def __init__(self, origins):
        self.origins = frozenset(origins)

    @classmethod
    def from_config(cls, config):
        listed = str(config.get("GATEWAY_CORS_ORIGINS") or "")
        return cls(origin.strip().rstrip("/") for origin in listed.split(",") if origin.strip())

    def allows(self, origin):
        return origin is not None and origin in self.origins

    def decorate(self, response, origin):
        """Let an allowed origin read ``response``; every answer varies by origin."""
        response.vary.add("Origin")
        if self.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response

    def preflight(self, origin, methods):
        """The answer to ``OPTIONS``: the route's methods, and CORS if the origin is allowed."""
        allowed = ", ".join(sorted(methods | {"OPTIONS"}))
        response = Response(status=204, headers={"Allow": allowed})
        if self.allows(origin):
            response.headers["Access-Control-Allow-Methods"] = allowed
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
        return self.decorate(response, origin)
