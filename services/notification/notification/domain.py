"""Who hears about a fact, and how: the rules of notification, without sending anything.

Three things reach families: a batch of grants (tickets_issued), a redemption at a
restaurant (ticket_redeemed) and, a week before a ticket's window closes, a reminder of what is
left on it. Each becomes messages:

- an app household hears through its preferred channel (email, SMS or push; email when the
  preferred one has no provider), in Japanese with English alongside, or in English alone
  when English is its language;
- a card household has no inbox of ours, so its support organisation gets a notice instead.
  The notice names households only by the organisation's own reference number (管理番号),
  never by name. For a batch of grants, one notice per organisation lists all of its card
  households in that batch;
- a household that cannot be reached (no email, no contact, an organisation without an email)
  still leaves a trace: a message that is skipped, with the reason.

Messages to families wait out the quiet hours (21:00 to 08:00 in the region's time zone);
notices to organisation staff do not (see :func:`kept_from_quiet_hours`). A send that fails is
tried again later, each pause longer than the one before, up to a configured number of tries.

A concern a partner restaurant raised reaches organisations only: it waits in the
organisation's list (concern_recorded). The notice says that and nothing more: no note, no
household, no restaurant.

The service queues, renders, sends and records what this module decides.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from shokudo_common.periods import zone_info

EMAIL, SMS, PUSH, ORGANISATION_NOTICE = "email", "sms", "push", "organisation_notice"
CHANNELS = (EMAIL, SMS, PUSH, ORGANISATION_NOTICE)
FAMILY_CHANNELS = (EMAIL, SMS, PUSH)
# A message waits in the delivery log as pending (quiet hours, or a retry to come), is sending
# while one worker has it, and ends sent, failed (after every try) or skipped.
PENDING, SENDING = "pending", "sending"
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"
OUTCOMES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
APP, CARD = "app", "card"

# Templates, one file each under notification/templates/.
TICKETS_ISSUED = "tickets_issued"
TICKET_REDEEMED = "ticket_redeemed"
ORGANISATION_TICKETS_ISSUED = "organisation_tickets_issued"
ORGANISATION_TICKET_REDEEMED = "organisation_ticket_redeemed"
TICKET_REMINDER = "ticket_reminder"
ORGANISATION_TICKET_REMINDER = "organisation_ticket_reminder"
ORGANISATION_CONCERN_WAITING = "organisation_concern_waiting"

# Why a message was skipped; stable codes kept in the delivery log.
HOUSEHOLD_HAS_NO_EMAIL = "household_has_no_email"
HOUSEHOLD_HAS_NO_PHONE = "household_has_no_phone"
HOUSEHOLD_HAS_NO_DEVICE = "household_has_no_device"
ORGANISATION_HAS_NO_EMAIL = "organisation_has_no_email"
CONTACT_UNKNOWN = "contact_unknown"
HOUSEHOLD_NOT_ACTIVE = "household_not_active"
ACTIVE = "active"

JAPANESE, ENGLISH = "ja", "en"
# Support organisations work in Japanese; English follows for staff who read it more easily.
ORGANISATION_LANGUAGES = (JAPANESE, ENGLISH)
DEFAULT_TIME_ZONE = "Asia/Tokyo"

# A reminder goes out this long before a ticket's window closes, when something is left.
REMINDER_LEAD = timedelta(days=7)


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
    # The household whose contact leads to the recipient: itself, or for a notice one of the
    # organisation's households. The address is asked again from enrollment when it is sent.
    contact_household_id: str | None = None
    # The household's preferred channel, when it had no provider here and email stood in.
    fell_back_from: str | None = None

    @property
    def language(self):
        return self.languages[0]


def languages_for(language):
    """The variant a household reads: Japanese with English alongside, or English alone."""
    if language == ENGLISH:
        return (ENGLISH,)
    return (JAPANESE, ENGLISH)


def languages_of(channel, language):
    """What a stored message is written in, from its channel and its reader's language."""
    if channel == ORGANISATION_NOTICE:
        return ORGANISATION_LANGUAGES
    return languages_for(language)


# -- when a message may go ------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Local hours when families are not disturbed: from ``starts`` until ``ends`` next day."""

    starts: time = time(21, 0)
    ends: time = time(8, 0)

    @classmethod
    def parse(cls, text):
        """"21:00-08:00"; "off" (or empty) for no quiet hours at all."""
        # YAML reads a bare off as false, which the config then hands over as "False".
        if not text or text.strip().lower() in ("off", "false", "none"):
            return None
        starts, _, ends = text.partition("-")
        return cls(time.fromisoformat(starts.strip()), time.fromisoformat(ends.strip()))

    def contains(self, local_time):
        if self.starts <= self.ends:
            return self.starts <= local_time < self.ends
        return local_time >= self.starts or local_time < self.ends

    def release(self, moment, time_zone):
        """``moment`` itself outside the quiet hours, else the instant they end (local)."""
        local = moment.astimezone(zone_info(time_zone))
        if not self.contains(local.time().replace(tzinfo=None)):
            return moment
        day = local.date() if local.time() < self.ends else local.date() + timedelta(days=1)
        return datetime.combine(day, self.ends, tzinfo=local.tzinfo).astimezone(moment.tzinfo)


def kept_from_quiet_hours(message_channel):
    """Families are not disturbed at night; organisation staff read their mail at work, so a
    notice to an organisation goes whenever it is due."""
    return message_channel != ORGANISATION_NOTICE


def not_before(channel, moment, time_zone, quiet_hours):
    """When a message due at ``moment`` may go out."""
    if quiet_hours is None or not kept_from_quiet_hours(channel):
        return moment
    return quiet_hours.release(moment, time_zone)


@dataclass(frozen=True)
class Retries:
    """How often, and after what pauses, a failed send is tried again."""

    max_attempts: int = 5
    first_pause: timedelta = timedelta(minutes=1)
    factor: float = 4.0
    longest_pause: timedelta = timedelta(hours=6)

    def exhausted(self, attempts):
        return attempts >= self.max_attempts

    def pause_after(self, attempts):
        """The wait after the ``attempts``-th failed try: 1, 4, 16, 64 minutes... capped."""
        pause = self.first_pause * (self.factor ** (attempts - 1))
        return min(pause, self.longest_pause)


# -- which channel reaches a family -----------------------------------------------------------


def family_channel(contact, available):
    """The household's preferred channel when it has a provider here and an address (a phone
    for SMS, a device its app registered for push); else email. Returns the channel and,
    when it fell back, the channel it fell back from."""
    preferred = contact.get("notify_by") or EMAIL
    if preferred == EMAIL or preferred not in FAMILY_CHANNELS:
        return EMAIL, None
    if preferred not in available or family_address(preferred, contact)[0] is None:
        return EMAIL, preferred
    return preferred, None


def family_address(channel, contact):
    """Where a family message goes on ``channel``, and why not when it cannot go."""
    if channel == SMS:
        phone = _text(contact.get("phone"))
        return phone, None if phone else HOUSEHOLD_HAS_NO_PHONE
    if channel == PUSH:
        # The device token the family's app registered with us (``push_token``, added to the
        # contact by the service from its own table).
        token = _text(contact.get("push_token"))
        return token, None if token else HOUSEHOLD_HAS_NO_DEVICE
    email = _text(contact.get("email"))
    return email, None if email else HOUSEHOLD_HAS_NO_EMAIL


def notice_address(contact):
    email = _text(contact.get("organisation_email"))
    return email, None if email else ORGANISATION_HAS_NO_EMAIL


def _text(value):
    return (value or "").strip() or None


# -- what each fact says to whom --------------------------------------------------------------


def tickets_issued_messages(issue, contacts, available=(EMAIL,)):
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
            messages.append(_to_family(TICKETS_ISSUED, contact, ticket, available))

    for card_households in cards_by_organisation.values():
        references = sorted(
            (contact["external_ref"] for contact in card_households), key=reference_order
        )
        facts = dict(ticket, external_refs=references)
        messages.append(_organisation_notice(ORGANISATION_TICKETS_ISSUED, card_households[0],
                                             facts))
    return messages


def ticket_redeemed_messages(redemption, contacts, time_zone, available=(EMAIL,)):
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
    return [_to_family(TICKET_REDEEMED, contact, receipt, available)]


@dataclass(frozen=True)
class DueTicket:
    """A ticket with yen left whose window closes within the reminder's lead."""

    household_id: str
    organisation_id: str
    balance_yen: int
    last_day: object


def reminder_due_at(valid_until):
    return valid_until - REMINDER_LEAD


def reminder_messages(tickets, contacts, available=(EMAIL,)):
    """A reminder to each app household; one notice per organisation for its card households,
    listing each by reference with what is left.

    Only an active household is reminded: a suspended or withdrawn family cannot use what is
    left, and telling it that it has yen to spend would be wrong. An app household's reminder
    is then skipped (``household_not_active``); a card household is left off the notice.
    """
    by_household = {contact["household_id"]: contact for contact in contacts}

    messages, cards = [], defaultdict(list)
    for ticket in tickets:
        facts = {"balance_yen": ticket.balance_yen, "last_day": ticket.last_day}
        contact = by_household.get(ticket.household_id)
        if contact is None:
            messages.append(_unreachable(TICKET_REMINDER, vars(ticket)))
        elif not is_active(contact):
            if contact["channel"] != CARD:
                messages.append(_not_active(TICKET_REMINDER, contact, facts))
        elif contact["channel"] == CARD:
            cards[(contact["organisation_id"], ticket.last_day)].append((contact, ticket))
        else:
            messages.append(_to_family(TICKET_REMINDER, contact, facts, available))

    for (_, last_day), listed in cards.items():
        listed.sort(key=lambda pair: reference_order(pair[0]["external_ref"]))
        households = [{"external_ref": contact["external_ref"] or "",
                       "balance_yen": ticket.balance_yen} for contact, ticket in listed]
        facts = {"last_day": last_day, "households": households}
        messages.append(_organisation_notice(ORGANISATION_TICKET_REMINDER, listed[0][0], facts))
    return messages


def is_active(contact):
    """Whether enrollment holds the household as active (an older answer without a status
    is taken as active, as only active households were reminded of before)."""
    return (contact.get("status") or ACTIVE) == ACTIVE


def still_to_send(template, contact):
    """Why a queued message must not go after all, now that its contact is known again: a
    reminder whose household is no longer active by the time it goes (a reminder queued at
    night goes in the morning). None when it may go."""
    if template == TICKET_REMINDER and not is_active(contact):
        return HOUSEHOLD_NOT_ACTIVE
    return None


def last_day_before(valid_until, zone):
    """The last local day a ticket can be used: the window ends (exclusive) at local midnight."""
    return (valid_until.astimezone(zone) - timedelta(microseconds=1)).date()


def reference_order(reference):
    """Order organisation references as people read them: A-2 before A-10."""
    pieces = re.split(r"(\d+)", reference or "")
    return [int(piece) if index % 2 else piece for index, piece in enumerate(pieces)]


def _to_family(template, contact, facts, available):
    channel, fell_back_from = family_channel(contact, available)
    address, skip_reason = family_address(channel, contact)
    return Message(
        channel=channel, template=template, organisation_id=contact["organisation_id"],
        household_id=contact["household_id"], languages=languages_for(contact["language"]),
        facts=facts, address=address, skip_reason=skip_reason,
        contact_household_id=contact["household_id"], fell_back_from=fell_back_from,
    )


def concern_waiting_messages(concern, contacts):
    """A notice to the organisation that a restaurant's concern waits in its list: no note, no
    household, no restaurant in the mail itself.

    The address is the organisation's, found through the household's contact as for every
    notice; a household that left the organisation since (or is unknown) cannot lead to it.
    """
    contact = next((c for c in contacts if c["household_id"] == concern["household_id"]), None)
    if contact is None or contact["organisation_id"] != concern["organisation_id"]:
        return [Message(
            channel=ORGANISATION_NOTICE, template=ORGANISATION_CONCERN_WAITING,
            organisation_id=concern["organisation_id"], household_id=None,
            languages=ORGANISATION_LANGUAGES, facts={}, skip_reason=CONTACT_UNKNOWN,
        )]
    return [_organisation_notice(ORGANISATION_CONCERN_WAITING, contact, {})]


def _organisation_notice(template, contact, facts):
    address, skip_reason = notice_address(contact)
    facts = dict(facts, organisation_name=contact["organisation_name"] or "")
    return Message(
        channel=ORGANISATION_NOTICE, template=template,
        organisation_id=contact["organisation_id"], household_id=None,
        languages=ORGANISATION_LANGUAGES, facts=facts, address=address,
        skip_reason=skip_reason, contact_household_id=contact["household_id"],
    )


def _not_active(template, contact, facts):
    """A family message kept in the log as skipped: the household is not active now."""
    return Message(
        channel=EMAIL, template=template, organisation_id=contact["organisation_id"],
        household_id=contact["household_id"], languages=languages_for(contact["language"]),
        facts=facts, skip_reason=HOUSEHOLD_NOT_ACTIVE,
    )


def _unreachable(template, fact):
    """Enrollment knows no contact for this household (withdrawn since, or never enrolled)."""
    return Message(
        channel=EMAIL, template=template, organisation_id=fact["organisation_id"],
        household_id=fact["household_id"], languages=languages_for(JAPANESE), facts={},
        skip_reason=CONTACT_UNKNOWN,
    )
