"""Staff passwords, kept only as argon2id hashes (argon2-cffi's recommended parameters).

Hashing costs tens of milliseconds of CPU and 64 MiB on purpose; in the gateway it runs in
eventlet's thread pool, so that one sign-in does not stall every other request of the worker's
hub (see NAMEKO-NOTES: CPU-heavy work in a green thread drops heartbeats).
"""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

MIN_LENGTH = 12
MAX_LENGTH = 1000

HASHER = PasswordHasher()

# The hash of a password nobody knows: an unknown login is checked against it, so that it takes
# as long to refuse as a wrong password and the timing does not tell which logins exist.
_NOBODYS_HASH = HASHER.hash(secrets.token_urlsafe(32))


class WeakPassword(ValueError):
    """A password too short or too long to accept."""


def hash_password(password):
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    return HASHER.hash(password)


def verify(password_hash, password):
    """Whether ``password`` matches ``password_hash`` (None: an unknown login, never matches)."""
    matched = tpool.execute(_matches, password_hash or _NOBODYS_HASH, password)
    return matched and password_hash is not None


def _matches(password_hash, password):
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
