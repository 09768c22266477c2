"""Households in domain terms: their lifecycle, the cap, activation codes and cards.

A support organisation enrols a household it has reached out to (active). It may suspend the
household and later reinstate it, or withdraw it; withdrawal is final. Each organisation may
have at most ``household_cap`` active households: enrolling or reinstating beyond the cap is
refused.

A household that uses the app receives a one-time activation code to type into the app; a
household without a smartphone receives a card whose 16-digit number ends in a Luhn check digit
so that a mistyped number is caught at the counter.
"""

import hashlib
import secrets
import unicodedata
from datetime import timedelta

from shokudo_common.errors import Conflict

ACTIVE, SUSPENDED, WITHDRAWN = "active", "suspended", "withdrawn"
STATUSES = (ACTIVE, SUSPENDED, WITHDRAWN)
APP, CARD = "app", "card"
CHANNELS = (APP, CARD)
LANGUAGES = ("ja", "en")

DEFAULT_HOUSEHOLD_CAP = 20
MAX_HOUSEHOLD_CAP = 10_000
MAX_CHILDREN = 15

# Which status each organisation action may start from, where it leads, and its past tense.
TRANSITIONS = {
    "suspend": ({ACTIVE}, SUSPENDED, "suspended"),
    "reinstate": ({SUSPENDED}, ACTIVE, "reinstated"),
    "withdraw": ({ACTIVE, SUSPENDED}, WITHDRAWN, "withdrawn"),
}

# The fields of a household that its organisation sets, by enrolment or by a spreadsheet.
DETAIL_FIELDS = (
    "external_ref", "guardian_name", "guardian_name_kana", "phone", "email", "postcode",
    "address", "children", "channel", "language",
)


def next_status(action, current):
    """Where ``action`` takes a household now in ``current``, or a Conflict naming both."""
    allowed_from, target, done = TRANSITIONS[action]
    if current not in allowed_from:
        raise Conflict(
            "household_status_conflict",
            f"the household is {current}; it cannot be {done}",
            {"status": current, "action": action},
        )
    return target


def ensure_room(household_cap, active_households):
    """Refuse one more active household when the organisation's cap is already reached."""
    if active_households >= household_cap:
        raise Conflict(
            "household_cap_reached",
            f"the organisation already has {active_households} active households and its cap"
            f" is {household_cap}; withdraw or suspend one, or ask the operator to raise the cap",
            {"cap": household_cap, "active": active_households},
        )


def changed_fields(current, incoming):
    """Names of the household details that ``incoming`` would change, in a stable order."""
    return [name for name in DETAIL_FIELDS if name in incoming and incoming[name] != current[name]]


# -- activation codes --------------------------------------------------------------------------

# No 0/O, 1/I/L: a code is read aloud over the phone and copied from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
CODE_LIFETIME = timedelta(days=90)
_HYPHENS = dict.fromkeys(map(ord, "-‐‑‒–—―−ー－ｰ "), None)


def new_activation_code():
    """Twelve characters from the unambiguous alphabet (about 59 bits of chance)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_activation_code(code):
    """XXXX-XXXX-XXXX, as printed for the family."""
    return "-".join(code[start:start + 4] for start in range(0, CODE_LENGTH, 4))


def normalise_activation_code(typed):
    """The code as stored, from what a family typed (any case, width or grouping), or None."""
    if not isinstance(typed, str):
        return None
    code = unicodedata.normalize("NFKC", typed).upper().translate(_HYPHENS)
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def activation_code_hash(code):
    """Codes are kept only as hashes: a database dump must not let anyone activate an app."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def activation_code_expires_at(issued_at):
    return issued_at + CODE_LIFETIME


def is_activation_code_usable(expires_at, used_at, voided_at, now):
    """Single use, before expiry, and not replaced by a newer code."""
    return used_at is None and voided_at is None and now < expires_at


# -- cards ------------------------------------------------------------------------------------

CARD_NUMBER_LENGTH = 16

# Why a card was replaced. Codes, not free text: a sentence typed by staff could name the
# family, and the reason is logged and counted.
CARD_REPLACEMENT_REASONS = ("lost", "stolen", "damaged", "other")


def luhn_check_digit(payload):
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    total = 0
    # Counting from the right of the payload, every first digit is doubled once the check
    # digit is appended after it.
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_card_number(number):
    """Sixteen ASCII digits whose last one is the Luhn check digit of the others."""
    if not isinstance(number, str) or len(number) != CARD_NUMBER_LENGTH:
        return False
    if not (number.isascii() and number.isdigit()):
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def new_card_number():
    """A random card number that never starts with 0 (spreadsheets drop leading zeros)."""
    payload = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(CARD_NUMBER_LENGTH - 2)
    )
    return payload + luhn_check_digit(payload)


def format_card_number(number):
    """4539 1234 5678 9012, as printed on the card and read out over the phone."""
    return " ".join(number[start:start + 4] for start in range(0, len(number), 4))


# Why a card is blocked without a new one yet: the same codes as for a replacement.
CARD_BLOCK_REASONS = CARD_REPLACEMENT_REASONS


# -- concerns ----------------------------------------------------------------------------------
#
# A concern a restaurant raised waits for its organisation (open), which acknowledges it (it has
# been seen and someone follows up) and closes it once dealt with. Asking again for what is
# already done changes nothing; a closed concern is not reopened.

OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"
CONCERN_STATUSES = (OPEN, ACKNOWLEDGED, CLOSED)

CONCERN_TRANSITIONS = {
    "acknowledge": ({OPEN}, ACKNOWLEDGED),
    "close": ({OPEN, ACKNOWLEDGED}, CLOSED),
}


def next_concern_status(action, current):
    """Where ``action`` takes a concern now ``current``: the same status when already there,
    a Conflict when the concern has gone past it."""
    allowed_from, target = CONCERN_TRANSITIONS[action]
    if current == target:
        return current
    if current not in allowed_from:
        raise Conflict("concern_closed", "the concern is closed; it cannot be acknowledged",
                       {"status": current, "action": action})
    return target


# -- moves -------------------------------------------------------------------------------------

def ensure_can_move(household_status, from_organisation, to_organisation):
    """A family moves to another organisation of the same region, never to where it is, and
    not once it has withdrawn."""
    if household_status == WITHDRAWN:
        raise Conflict("household_withdrawn", "the household has withdrawn; it cannot move",
                       {"status": household_status})
    if to_organisation.id == from_organisation.id:
        raise Conflict("household_already_there",
                       "the household already belongs to this organisation",
                       {"to_organisation_id": to_organisation.id})
    if to_organisation.region_id != from_organisation.region_id:
        raise Conflict("organisation_other_region",
                       "a household can only move to an organisation of its own region",
                       {"region_id": from_organisation.region_id,
                        "to_region_id": to_organisation.region_id})
