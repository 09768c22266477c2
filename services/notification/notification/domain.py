"""Who hears about a fact, and how: the rules of notification, without sending anything.

Two facts reach families today: a batch of grants (tickets_issued) and a redemption at a
restaurant (ticket_redeemed). Each becomes messages:

- an app household with an email gets an email, in its own language first and the other
  alongside (Japanese and English);
- a card household has no inbox of ours, so its support organisation gets a notice instead.
  The notice names households only by the organisation's own reference number (管理番号),
  never by name. For a batch of grants, one notice per organisation lists all of its card
  households in that batch;
- a household that cannot be reached (no email, no contact, an organisation without an email)
  still leaves a trace: a message that is skipped, with the reason.

A third reaches organisations only: a concern a partner restaurant raised is waiting in the
organisation's list (concern_recorded). The notice says that and nothing more: no note, no
household, no restaurant.

The service renders, sends and records what this module decides.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from shokudo_common.periods import zone_info

EMAIL, ORGANISATION_NOTICE = "email", "organisation_notice"
CHANNELS = (EMAIL, ORGANISATION_NOTICE)
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"
OUTCOMES = (SENT, FAILED, SKIPPED)
APP, CARD = "app", "card"

# Templates, one file each under notification/templates/.
TICKETS_ISSUED = "tickets_issued"
TICKET_REDEEMED = "ticket_redeemed"
ORGANISATION_TICKETS_ISSUED = "organisation_tickets_issued"
ORGANISATION_TICKET_REDEEMED = "organisation_ticket_redeemed"
ORGANISATION_CONCERN_WAITING = "organisation_concern_waiting"

# Why a message was skipped; stable codes kept in the delivery log.
HOUSEHOLD_HAS_NO_EMAIL = "household_has_no_email"
ORGANISATION_HAS_NO_EMAIL = "organisation_has_no_email"
CONTACT_UNKNOWN = "contact_unknown"

JAPANESE, ENGLISH = "ja", "en"
# Support organisations work in Japanese; English follows for staff who read it more easily.
ORGANISATION_LANGUAGES = (JAPANESE, ENGLISH)
DEFAULT_TIME_ZONE = "Asia/Tokyo"


@dataclass(frozen=True)
class Message:
    """One message to one recipient, as decided; rendered and sent by the service."""

    channel: str
    template: str
    organisation_id: str
    household_id: str | None
    languages: tuple
    facts: dict = field(compare=False)
    # Where it goes. Held in memory only: never stored, logged or published.
    address: str | None = field(default=None, repr=False)
    skip_reason: str | None = None

    @property
    def language(self):
        return self.languages[0]


def languages_for(language):
    """The household's own language first, the other one alongside."""
    if language == ENGLISH:
        return (ENGLISH, JAPANESE)
    return (JAPANESE, ENGLISH)


def tickets_issued_messages(issue, contacts):
    """Messages for one batch of grants: an email per app household, a notice per organisation."""
    by_household = {contact["household_id"]: contact for contact in contacts}
    ticket = {
        "amount_yen": issue["amount_yen"],
        "first_day": issue["first_day"],
        "last_day": issue["last_day"],
    }

    messages, cards_by_organisation = [], defaultdict(list)
    for grant in issue["grants"]:
        contact = by_household.get(grant["household_id"])
        if contact is None:
            messages.append(_unreachable(TICKETS_ISSUED, grant))
        elif contact["channel"] == CARD:
            cards_by_organisation[contact["organisation_id"]].append(contact)
        else:
            messages.append(_email(TICKETS_ISSUED, contact, ticket))

    for card_households in cards_by_organisation.values():
        references = sorted(
            (contact["external_ref"] for contact in card_households), key=reference_order
        )
        facts = dict(ticket, external_refs=references)
        messages.append(_organisation_notice(ORGANISATION_TICKETS_ISSUED, card_households[0],
                                             facts))
    return messages


def ticket_redeemed_messages(redemption, contacts, time_zone):
    """A receipt for the household, or a notice to the organisation of a card household."""
    zone = zone_info(time_zone)
    receipt = {
        "applied_yen": redemption["applied_yen"],
        "balance_yen": redemption["balance_yen"],
        "pay_at_counter_yen": redemption.get("pay_at_counter_yen", 0),
        "at": redemption["at"].astimezone(zone),
        "last_day": last_day_before(redemption["valid_until"], zone),
    }

    contact = next((c for c in contacts if c["household_id"] == redemption["household_id"]), None)
    if contact is None:
        return [_unreachable(TICKET_REDEEMED, redemption)]
    if contact["channel"] == CARD:
        facts = dict(receipt, external_ref=contact["external_ref"])
        return [_organisation_notice(ORGANISATION_TICKET_REDEEMED, contact, facts)]
    return [_email(TICKET_REDEEMED, contact, receipt)]


def concern_waiting_message(concern, organisation):
    """A notice to the organisation that a restaurant's concern waits in its list: no note, no
    household, no restaurant in the mail itself."""
    address = (organisation.get("contact_email") or "").strip()
    return Message(
        channel=ORGANISATION_NOTICE, template=ORGANISATION_CONCERN_WAITING,
        organisation_id=concern["organisation_id"], household_id=None,
        languages=ORGANISATION_LANGUAGES,
        facts={"organisation_name": organisation.get("name") or ""},
        address=address or None, skip_reason=None if address else ORGANISATION_HAS_NO_EMAIL,
    )


def last_day_before(valid_until, zone):
    """The last local day a ticket can be used: the window ends (exclusive) at local midnight."""
    return (valid_until.astimezone(zone) - timedelta(microseconds=1)).date()


def reference_order(reference):
    """Order organisation references as people read them: A-2 before A-10."""
    pieces = re.split(r"(\d+)", reference or "")
    return [int(piece) if index % 2 else piece for index, piece in enumerate(pieces)]


def _email(template, contact, facts):
    address = (contact["email"] or "").strip()
    return Message(
        channel=EMAIL, template=template, organisation_id=contact["organisation_id"],
        household_id=contact["household_id"], languages=languages_for(contact["language"]),
        facts=facts, address=address or None,
        skip_reason=None if address else HOUSEHOLD_HAS_NO_EMAIL,
    )


def _organisation_notice(template, contact, facts):
    address = (contact["organisation_email"] or "").strip()
    facts = dict(facts, organisation_name=contact["organisation_name"] or "")
    return Message(
        channel=ORGANISATION_NOTICE, template=template,
        organisation_id=contact["organisation_id"], household_id=None,
        languages=ORGANISATION_LANGUAGES, facts=facts, address=address or None,
        skip_reason=None if address else ORGANISATION_HAS_NO_EMAIL,
    )


def _unreachable(template, fact):
    """Enrollment knows no contact for this household (withdrawn since, or never enrolled)."""
    return Message(
        channel=EMAIL, template=template, organisation_id=fact["organisation_id"],
        household_id=fact["household_id"], languages=languages_for(JAPANESE), facts={},
        skip_reason=CONTACT_UNKNOWN,
    )
