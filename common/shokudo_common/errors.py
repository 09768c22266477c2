"""Domain errors that keep their meaning across nameko RPC.

A service raises one of these with a stable ``code`` (``household_cap_reached``), a sentence
for people and optional ``details`` (field paths, limits). nameko serialises the exception;
because each class is registered with ``deserialize_to_instance``, the caller gets the same
class back with the same arguments, and the gateway maps the class to one HTTP status.
"""

from nameko.exceptions import deserialize_to_instance


class ShokudoError(Exception):
    """Base of every expected failure. Subclasses fix the HTTP status family."""

    http_status = 400

    def __init__(self, code, message, details=None):
        super().__init__(code, message, details or {})
        self.code = code
        self.message = message
        self.details = details or {}

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        return {"code": self.code, "message": self.message, "details": self.details}


@deserialize_to_instance
class InvalidInput(ShokudoError):
    """The request is well formed but breaks a rule of the domain (422)."""

    http_status = 422


@deserialize_to_instance
class NotFound(ShokudoError):
    """No such thing, or not one the caller may see (404)."""

    http_status = 404


@deserialize_to_instance
class Conflict(ShokudoError):
    """The thing exists already or is in a state that forbids the change (409)."""

    http_status = 409


@deserialize_to_instance
class Forbidden(ShokudoError):
    """The caller's role may not do this at all (403)."""

    http_status = 403


@deserialize_to_instance
class Unavailable(ShokudoError):
    """A service behind this one did not answer in time (503)."""

    http_status = 503


# Registered too, so a bare ShokudoError raised by mistake still arrives as itself.
deserialize_to_instance(ShokudoError)
