"""The register of organisations and households, kept in enrollment's database.

Every change made here stages the facts it makes true in the outbox of the same transaction;
the caller commits (or, for a dry run, rolls back) when its work is whole. Facts carry ids,
region, organisation, channel and status, never a name, address, phone or email.

Each household_* fact also carries the household's ``version``, one more than the fact before
it: every kind of fact travels on its own queue, and the number is what lets a consumer tell
a late suspension from the reinstatement that followed it.

Replacing a lost card is one audited step: the old card is blocked, a new one issued and a
``card_replacements`` row written, all in the caller's transaction; both card facts carry the
replacement's id.

Reads are always scoped by organisation: a household of another organisation is reported
exactly as an unknown one, so an organisation cannot even learn that it exists.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from shokudo_common.errors import Conflict, NotFound

from enrollment import domain
from enrollment.models import (
    ActivationCode, Card, CardReplacement, Concern, Household, HouseholdMove, Organisation,
)

STATUS_EVENTS = {
    domain.SUSPENDED: "household_suspended",
    domain.ACTIVE: "household_reinstated",
    domain.WITHDRAWN: "household_withdrawn",
}


def utc_now():
    return datetime.now(timezone.utc)


def _locking(lock):
    # A row read earlier in the same worker is read again once locked, not taken from memory.
    return {"with_for_update": True, "populate_existing": True} if lock else {}


@dataclass(frozen=True)
class StatusChange:
    """A household's new status and the fact that announces it (without its event id)."""

    household: Household
    fact: dict


@dataclass(frozen=True)
class CardReplaced:
    """The audit row of a replaced card and the two facts staged with it."""

    replacement: CardReplacement
    blocked: dict
    issued: dict


def household_not_found(household_id):
    # The same words whether the id is unknown or belongs to another organisation.
    return NotFound("household_not_found", f"no household {household_id} in this organisation")


class Register:
    """Organisations and households as one worker sees them through its session."""

    def __init__(self, session, outbox, now=utc_now):
        self.session = session
        self.outbox = outbox
        self.now = now

    # -- organisations -------------------------------------------------------------------------

    def add_organisation(self, details):
        organisation = Organisation(id=str(uuid.uuid4()), created_at=self.now(), **details)
        self.session.add(organisation)
        self.session.flush()
        return organisation

    def organisation(self, organisation_id, lock=False):
        """The organisation; locked, it serialises every change to its count of households."""
        organisation = self.session.get(Organisation, str(organisation_id), **_locking(lock))
        if organisation is None:
            raise NotFound("organisation_not_found", f"no organisation {organisation_id}")
        return organisation

    def organisations(self, region_id):
        query = select(Organisation).where(Organisation.region_id == region_id)
        return self.session.scalars(query.order_by(Organisation.name)).all()

    def active_households(self, organisation_id):
        query = select(func.count()).select_from(Household).where(
            Household.organisation_id == organisation_id, Household.status == domain.ACTIVE,
        )
        return self.session.scalar(query)

    def counts_by_organisation(self, region_id):
        """(organisation_id, status, channel, n) for every organisation of the region."""
        query = (
            select(Household.organisation_id, Household.status, Household.channel, func.count())
            .where(Household.region_id == region_id)
            .group_by(Household.organisation_id, Household.status, Household.channel)
        )
        return self.session.execute(query).all()

    # -- households ----------------------------------------------------------------------------

    def household(self, organisation_id, household_id, lock=False):
        household = self.session.get(Household, str(household_id), **_locking(lock))
        if household is None or household.organisation_id != str(organisation_id):
            raise household_not_found(household_id)
        return household

    def households(self, organisation_id, status=None):
        query = select(Household).where(Household.organisation_id == organisation_id)
        if status:
            query = query.where(Household.status == status)
        return self.session.scalars(query.order_by(Household.external_ref)).all()

    def household_by_ref(self, organisation_id, external_ref):
        query = select(Household).where(
            Household.organisation_id == organisation_id, Household.external_ref == external_ref,
        ).with_for_update()
        return self.session.scalars(query).first()

    def moved_out(self, organisation_id, external_ref):
        """The latest move of a household that left the organisation under this reference,
        or None; a household that came back under it is found by ``household_by_ref``."""
        query = select(HouseholdMove).where(
            HouseholdMove.from_organisation_id == organisation_id,
            HouseholdMove.external_ref == external_ref,
        ).order_by(HouseholdMove.moved_at.desc(), HouseholdMove.id.desc())
        return self.session.scalars(query).first()

    def households_by_id(self, household_ids):
        query = select(Household, Organisation).join(Organisation).where(
            Household.id.in_(list(household_ids))
        )
        return self.session.execute(query).all()

    def card_numbers(self, household_ids):
        """Household id -> number of its card in use, for those that have one."""
        query = select(Card.household_id, Card.card_number).where(
            Card.household_id.in_(list(household_ids)), Card.status == "active"
        )
        return dict(self.session.execute(query).all())

    def current_card(self, household_id):
        query = select(Card.card_number).where(
            Card.household_id == household_id, Card.status == "active"
        )
        return self.session.scalar(query)

    def enrol(self, organisation, details):
        """A new active household of ``organisation``, with its code or card.

        The caller has locked the organisation and checked its cap. Returns the household and
        what the family needs to start (activation code or card number).
        """
        now = self.now()
        household = Household(
            id=str(uuid.uuid4()), organisation_id=organisation.id,
            region_id=organisation.region_id, status=domain.ACTIVE,
            enrolled_at=now, updated_at=now, **details,
        )
        self.session.add(household)
        self.session.flush()
        self._announce("household_enrolled", household)
        return household, self._equip(household)

    def ensure_new_ref(self, organisation_id, external_ref):
        if self.household_by_ref(organisation_id, external_ref) is not None:
            raise Conflict(
                "external_ref_taken",
                f"the organisation already has a household with reference {external_ref}",
                {"external_ref": external_ref},
            )

    def change_details(self, household, changes):
        """Apply changed details; a change of channel swaps the card or code with it."""
        if household.status == domain.WITHDRAWN:
            raise Conflict("household_withdrawn",
                           "the household has withdrawn; its details are no longer kept up",
                           {"status": household.status})
        channel_before = household.channel
        for name, value in changes.items():
            setattr(household, name, value)
        household.updated_at = self.now()
        self.session.flush()
        if household.channel == channel_before:
            return {}
        # A new channel starts afresh: the old card or code stops working, and an app that was
        # activated before a move to the card is no longer the household's way in.
        household.app_activated_at = None
        self._unequip(household)
        return self._equip(household)

    def change_status(self, household, action):
        """Suspend, reinstate or withdraw; returns the change with the fact it announces."""
        household.status = domain.next_status(action, household.status)
        household.updated_at = self.now()
        fact = self._announce(STATUS_EVENTS[household.status], household)
        if household.status == domain.WITHDRAWN:
            self._unequip(household)
        self.session.flush()
        return StatusChange(household, fact)

    def move(self, household, to_organisation):
        """The household now belongs to ``to_organisation``, with its ticket, card and history;
        returns the change with the ``household_moved`` fact. The caller has locked both
        organisations and the household, and checked the move and the cap.

        The household's concerns go with it: the new organisation is the one staying
        connected with the family now, and the old one no longer sees them. The old
        organisation's reference is remembered, so that its spreadsheet, imported again with
        the family still on it, does not enrol the family a second time.
        """
        from_organisation_id = household.organisation_id
        now = self.now()
        household.organisation_id = to_organisation.id
        household.updated_at = now
        self.session.execute(
            update(Concern).where(Concern.household_id == household.id)
            .values(organisation_id=to_organisation.id)
        )
        self.session.add(HouseholdMove(
            household_id=household.id, from_organisation_id=from_organisation_id,
            to_organisation_id=to_organisation.id, external_ref=household.external_ref,
            moved_at=now,
        ))
        self.session.flush()
        fact = self._announce("household_moved", household,
                              from_organisation_id=from_organisation_id)
        return StatusChange(household, fact)

    # -- activation codes and cards ------------------------------------------------------------

    def issue_activation_code(self, household):
        """A fresh code for an app household; earlier unused codes stop working."""
        self._ensure_channel(household, domain.APP)
        self._void_codes(household)
        return self._new_code(household)

    def activate(self, typed_code):
        """Use a code once; a used, expired, voided or unknown code is refused alike."""
        invalid = NotFound("activation_code_invalid",
                           "this activation code cannot be used; ask your support organisation"
                           " for a new one")
        code = domain.normalise_activation_code(typed_code)
        if code is None:
            raise invalid
        query = select(ActivationCode).where(
            ActivationCode.code_hash == domain.activation_code_hash(code)
        ).with_for_update()
        stored = self.session.scalars(query).first()
        now = self.now()
        if stored is None or not domain.is_activation_code_usable(
                stored.expires_at, stored.used_at, stored.voided_at, now):
            raise invalid
        stored.used_at = now
        household = self.session.get(Household, stored.household_id, with_for_update=True)
        household.app_activated_at = now
        self.outbox.add(self.session, "household_activated", {"household_id": household.id})
        self.session.flush()
        return household

    def replace_card(self, household, reason, replaced_by):
        """Block the household's card and issue a new number, with the audit row, as one step.

        The balance is not the card's but the household's ticket's: the new number reaches
        exactly what the old one had left.
        """
        self._ensure_channel(household, domain.CARD)
        replacement_id = str(uuid.uuid4())
        blocked = self._block_card(household, replacement_id)
        if blocked is None:
            raise Conflict("card_not_found", "the household has no card in use to replace",
                           {"channel": household.channel})
        issued = self._new_card(household, replacement_id)

        replacement = CardReplacement(
            id=replacement_id, household_id=household.id,
            organisation_id=household.organisation_id,
            old_card_number=blocked["card_number"], new_card_number=issued["card_number"],
            reason=reason, replaced_by=replaced_by, replaced_at=self.now(),
        )
        self.session.add(replacement)
        self.session.flush()
        return CardReplaced(replacement, blocked, issued)

    def issue_card(self, household):
        """A card for a household with none in use; returns the card_issued fact.

        Its first card, a card after a lost one was blocked, or a household leaving the app for
        a card: its codes stop working and its activated app is no longer its way in.
        """
        if household.status == domain.WITHDRAWN:
            raise Conflict("household_withdrawn", "the household has withdrawn",
                           {"status": household.status})
        if self.current_card(household.id) is not None:
            raise Conflict("card_in_use",
                           "the household already has a card in use; replace it if it is lost",
                           {"channel": household.channel})
        if household.channel == domain.APP:
            household.channel = domain.CARD
            household.app_activated_at = None
            household.updated_at = self.now()
            self._void_codes(household)
        return self._new_card(household)

    def block_card(self, household, reason, blocked_by):
        """Block the card in use without a new one yet; returns the card_blocked fact.

        Why and who are kept on the card itself, as a replacement keeps them on its own row.
        """
        self._ensure_channel(household, domain.CARD)
        blocked = self._block_card(household)
        if blocked is None:
            raise Conflict("card_not_found", "the household has no card in use to block",
                           {"channel": household.channel})
        card = self.session.get(Card, blocked["card_number"])
        card.block_reason = reason
        card.blocked_by = blocked_by
        self.session.flush()
        return blocked

    def printable_cards(self, organisation_id, household_id=None):
        """(household, card number) of the organisation's active households with a card in use.

        Asked for one household, it must be such a household: anything else is said plainly
        rather than answered with an empty sheet.
        """
        if household_id is not None:
            household = self.household(organisation_id, household_id)
            return [(household, self._printable_card(household))]
        query = (
            select(Household, Card.card_number).join(Card, Card.household_id == Household.id)
            .where(Household.organisation_id == organisation_id,
                   Household.status == domain.ACTIVE, Card.status == "active")
            .order_by(Household.external_ref)
        )
        cards = [tuple(row) for row in self.session.execute(query).all()]
        if not cards:
            raise Conflict("no_cards_to_print",
                           "the organisation has no active household with a card in use", {})
        return cards

    def _printable_card(self, household):
        if household.status != domain.ACTIVE:
            raise Conflict("household_not_active",
                           f"the household is {household.status}; only an active household's"
                           " card is printed", {"status": household.status})
        self._ensure_channel(household, domain.CARD)
        card_number = self.current_card(household.id)
        if card_number is None:
            raise Conflict("card_not_found",
                           "the household has no card in use; issue one first",
                           {"channel": household.channel})
        return card_number

    @staticmethod
    def card_replacement_facts(replacement, region_id):
        """The card_blocked and card_issued facts of a replacement made earlier."""
        return (
            card_blocked(replacement.household_id, replacement.old_card_number, replacement.id),
            card_issued(replacement.household_id, region_id, replacement.new_card_number,
                        replacement.id),
        )

    def _equip(self, household):
        if household.channel == domain.APP:
            return self._new_code(household)
        return {"card_number": self._new_card(household)["card_number"]}

    def _unequip(self, household):
        self._void_codes(household)
        self._block_card(household)

    def _ensure_channel(self, household, channel):
        if household.status == domain.WITHDRAWN:
            raise Conflict("household_withdrawn", "the household has withdrawn",
                           {"status": household.status})
        if household.channel != channel:
            raise Conflict("household_channel_mismatch",
                           f"the household uses the {household.channel}, not the {channel}",
                           {"channel": household.channel})

    def _new_code(self, household):
        code = domain.new_activation_code()
        issued_at = self.now()
        expires_at = domain.activation_code_expires_at(issued_at)
        self.session.add(ActivationCode(
            household_id=household.id, code_hash=domain.activation_code_hash(code),
            issued_at=issued_at, expires_at=expires_at,
        ))
        self.session.flush()
        return {
            "activation_code": domain.format_activation_code(code),
            "activation_code_expires_at": expires_at.isoformat(),
        }

    def _void_codes(self, household):
        self.session.execute(
            update(ActivationCode)
            .where(ActivationCode.household_id == household.id,
                   ActivationCode.used_at.is_(None), ActivationCode.voided_at.is_(None))
            .values(voided_at=self.now())
        )

    def _new_card(self, household, replacement_id=None):
        """A new active card; returns the card_issued fact staged for it."""
        card_number = domain.new_card_number()
        # Two households drawing the same 15 random digits is a one in 10**14 chance; the
        # primary key would refuse it and the caller's transaction would fail cleanly.
        self.session.add(Card(card_number=card_number, household_id=household.id,
                              status="active", issued_at=self.now()))
        self.session.flush()
        fact = card_issued(household.id, household.region_id, card_number, replacement_id)
        self.outbox.add(self.session, "card_issued", fact)
        return fact

    def _block_card(self, household, replacement_id=None):
        """Block the card in use, if any; returns the card_blocked fact staged for it."""
        card = self.session.scalars(
            select(Card).where(Card.household_id == household.id, Card.status == "active")
            .with_for_update()
        ).first()
        if card is None:
            return None
        card.status = "blocked"
        card.blocked_at = self.now()
        self.session.flush()
        fact = card_blocked(household.id, card.card_number, replacement_id)
        self.outbox.add(self.session, "card_blocked", fact)
        return fact

    def _announce(self, event_type, household, **more):
        # The caller holds the household's row (locked, or new in this transaction), so no
        # other worker can announce the same version.
        household.version += 1
        fact = {
            "household_id": household.id,
            "region_id": household.region_id,
            "organisation_id": household.organisation_id,
            "channel": household.channel,
            "language": household.language,
            "status": household.status,
            "enrolled_at": household.enrolled_at.isoformat(),
            "version": household.version,
            **more,
        }
        self.outbox.add(self.session, event_type, fact)
        return fact


def card_issued(household_id, region_id, card_number, replacement_id=None):
    """The card_issued fact; ``replacement_id`` names the replacement it is part of, if any."""
    return {"household_id": household_id, "region_id": region_id, "card_number": card_number,
            "replacement_id": replacement_id}


def card_blocked(household_id, card_number, replacement_id=None):
    """The card_blocked fact; ``replacement_id`` as for card_issued."""
    return {"household_id": household_id, "card_number": card_number,
            "replacement_id": replacement_id}
