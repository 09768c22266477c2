"""Enrollment as a nameko service: a thin entrypoint over the domain and the register.

Each call parses its input at the edge, lets the register and the domain decide, then commits
once. Facts reach the others through the outbox committed with the change; contact data leaves
only through ``get_contacts``, which the notification service alone calls.

Cards issued or blocked on their own, card sheets, app letters and the spreadsheet export are
in :mod:`enrollment.office`, mixed in here.

Every method that shows or changes personal data takes an ``accessor`` (who and why) and
leaves a record in the access trail (see :mod:`enrollment.audit`): a change in its own
transaction, a read committed before the answer.

Suspending, reinstating or withdrawing a household and replacing its card must hold at the
counter the moment the organisation hears of it: after the commit, the same facts are applied
in redemption over RPC before the answer (see :mod:`enrollment.counter`).
"""

import logging
from dataclasses import dataclass

from shokudo_common import idempotency
from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.errors import InvalidInput, NotFound
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.validation import load, shared

from enrollment import concerns, domain, metrics, spreadsheet
from enrollment.audit import (
    CONTACT_FIELDS, NOTIFICATION, SHOWN_FIELDS, UNATTRIBUTED, Trail, accessor_from, read_trail,
)
from enrollment.counter import RedemptionCounter
from enrollment.households import Register, utc_now
from enrollment.importer import CREATED, UPDATED, Import, summarise
from enrollment.models import CardReplacement, Household
from enrollment.office import OfficeEndpoints
from enrollment.schemas import (
    AccessRecordOut, CardReplacementIn, CardReplacementOut, ConcernFact, ConcernFilter,
    ConcernRef, ContactsRequest, HouseholdFilter, HouseholdIn, HouseholdOut, ImportRequest,
    MoveIn, OrganisationIn, OrganisationOut, ProgramFact,
)

log = logging.getLogger(__name__)


class EnrollmentService(OfficeEndpoints, OperationalEndpoints):
    name = "enrollment"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()
    counter = RedemptionCounter()

    # -- organisations -------------------------------------------------------------------------

    @rpc
    def create_organisation(self, data):
        details = load(OrganisationIn(), data)
        organisation = self._register().add_organisation(details)
        self.db.commit()
        log.info("organisation created", extra={
            "organisation_id": organisation.id, "region_id": organisation.region_id,
        })
        return OrganisationOut().dump(organisation)

    @rpc
    def get_organisation(self, organisation_id):
        return OrganisationOut().dump(self._register().organisation(organisation_id))

    @rpc
    def list_organisations(self, region_id):
        return OrganisationOut(many=True).dump(self._register().organisations(region_id))

    # -- households ----------------------------------------------------------------------------

    @rpc
    def enrol_household(self, organisation_id, data, idempotency_key=None, accessor=None):
        """Enrol one household; the answer carries its activation code or card number.

        With an ``idempotency_key``, the same request sent again gets the first answer (code
        or card included) and enrols nobody twice.
        """
        trail = self._trail(accessor)
        details = load(HouseholdIn(), data)
        keyed = idempotency.claim(self.db, "enrollment.enrol_household", idempotency_key,
                                  {"organisation_id": organisation_id, "details": details})
        if keyed.answered:
            return self._replayed(trail, "household.enrol", [keyed.answer], SHOWN_FIELDS)

        register = self._register()
        organisation = register.organisation(organisation_id, lock=True)

        register.ensure_new_ref(organisation.id, details["external_ref"])
        domain.ensure_room(organisation.household_cap,
                           register.active_households(organisation.id))
        household, credentials = register.enrol(organisation, details)
        trail.record("household.enrol", [household],
                     [name for name, value in details.items() if value is not None])
        answer = keyed.remember(self.db, {
            **self._household_out(household, credentials.get("card_number")), **credentials,
        })
        self.db.commit()

        metrics.count_enrolled(household.region_id, household.channel)
        log.info("household enrolled", extra={
            "household_id": household.id, "organisation_id": organisation.id,
            "channel": household.channel,
        })
        return answer

    @rpc
    def import_households(self, organisation_id, csv_base64, dry_run=False,
                          idempotency_key=None, accessor=None):
        """Apply an organisation's spreadsheet line by line, or rehearse it (``dry_run``).

        A real import with an ``idempotency_key`` sent again gets the first answer; a dry run
        writes nothing, so it ignores the key. A dry run shows no personal values (lines,
        references, names of changed fields) and leaves no access record either.
        """
        trail = self._trail(accessor)
        request = load(ImportRequest(), {"csv_base64": csv_base64, "dry_run": dry_run})
        sheet = spreadsheet.read(request["csv_base64"])
        key = None if request["dry_run"] else idempotency_key
        keyed = idempotency.claim(self.db, "enrollment.import_households", key, {
            "organisation_id": organisation_id, "csv_base64": request["csv_base64"],
        })
        if keyed.answered:
            return self._replayed_import(trail, organisation_id, keyed.answer)

        register = self._register()
        organisation = register.organisation(organisation_id, lock=True)

        sheet_import = Import(register, organisation, sheet)
        outcomes = sheet_import.run()
        result = summarise(outcomes, sheet, request["dry_run"], sheet_import.cap_report())
        if request["dry_run"]:
            self.db.rollback()
        else:
            self._record_import(trail, organisation, outcomes)
            result = keyed.remember(self.db, result)
            self.db.commit()
            self._count_import(organisation, outcomes, result["summary"])

        # "created" is a field of every log record already, hence the prefix.
        log.info("households imported", extra={
            "organisation_id": organisation.id, "dry_run": request["dry_run"],
            **{f"lines_{outcome}": lines for outcome, lines in result["summary"].items()},
        })
        return result

    @rpc
    def get_household(self, organisation_id, household_id, accessor=None):
        trail = self._trail(accessor)
        register = self._register()
        household = register.household(organisation_id, household_id)
        answer = self._household_out(household, register.current_card(household.id))

        trail.record("household.read", [household], SHOWN_FIELDS)
        self.db.commit()
        return answer

    @rpc
    def list_households(self, organisation_id, status=None, accessor=None):
        trail = self._trail(accessor)
        wanted = load(HouseholdFilter(), {"status": status})
        register = self._register()
        organisation = register.organisation(organisation_id)
        households = register.households(organisation.id, wanted["status"])
        cards = register.card_numbers(household.id for household in households)
        answer = [self._household_out(household, cards.get(household.id))
                  for household in households]

        trail.record("household.list", households, SHOWN_FIELDS)
        self.db.commit()
        return answer

    @rpc
    def suspend_household(self, organisation_id, household_id, accessor=None):
        """Stop the household's tickets; refused at the counter once this has answered.

        The answer's ``in_force_at_counter`` is false only if redemption did not answer in
        time: the suspension stands and reaches the counter with its event.
        """
        return self._change_status(organisation_id, household_id, "suspend", accessor)

    @rpc
    def reinstate_household(self, organisation_id, household_id, accessor=None):
        return self._change_status(organisation_id, household_id, "reinstate", accessor)

    @rpc
    def withdraw_household(self, organisation_id, household_id, accessor=None):
        return self._change_status(organisation_id, household_id, "withdraw", accessor)

    @rpc
    def move_household(self, organisation_id, household_id, to_organisation_id,
                       idempotency_key=None, accessor=None):
        """The family moved: the household becomes ``to_organisation_id``'s, in the same region,
        with its ticket, balance, card and history. The new organisation's cap counts it.

        Once this has answered, redemption holds the move (``in_force_at_counter``), so the old
        organisation no longer sees the household's usage and the new one does. The
        household's concerns move with it. ``card_reprint_needed`` says that the household's
        card names the old organisation and should be printed again by the new one.
        """
        trail = self._trail(accessor)
        request = load(MoveIn(), {"to_organisation_id": to_organisation_id})
        keyed = idempotency.claim(self.db, "enrollment.move_household", idempotency_key, {
            "organisation_id": organisation_id, "household_id": household_id, **request,
        })
        if keyed.answered:
            return self._replayed(trail, "household.move", [keyed.answer], SHOWN_FIELDS)

        register = self._register()
        household = register.household(organisation_id, household_id)
        source, target = self._lock_both(register, household.organisation_id,
                                         request["to_organisation_id"])
        household = register.household(organisation_id, household_id, lock=True)

        domain.ensure_can_move(household.status, source, target)
        register.ensure_new_ref(target.id, household.external_ref)
        if household.status == domain.ACTIVE:
            domain.ensure_room(target.household_cap, register.active_households(target.id))
        change = register.move(household, target)
        card_number = register.current_card(household.id)
        # The card in the family's hands names the old organisation as whom to call.
        answer = keyed.remember(self.db, {
            **self._household_out(household, card_number),
            "card_reprint_needed": card_number is not None,
        })
        # Recorded under the new organisation, whose household it now is.
        trail.record("household.move", [household], ["organisation_id"])
        self.db.commit()

        in_force = self.counter.household_move(change.fact)
        log.info("household moved", extra={
            "household_id": household.id, "from_organisation_id": source.id,
            "organisation_id": target.id, "in_force_at_counter": in_force,
        })
        return self._in_force_at_counter(answer, in_force)

    # -- concerns (気づき) raised by restaurants ------------------------------------------------

    @on_event("redemption", "concern_raised")
    def on_concern_raised(self, payload):
        """Keep a restaurant's concern for the household's organisation, once."""
        fact = load(ConcernFact(), payload)
        kept = concerns.record(self.db, self.outbox, fact)
        # The note is about a child: never in a log line.
        log.info("concern recorded" if kept else "concern already recorded", extra={
            "concern_id": fact["concern_id"], "restaurant_id": fact["restaurant_id"],
            "category": fact["category"],
        })

    @on_event("issuance", "program_updated")
    def on_program_updated(self, payload):
        """Keep the region's time zone, in which organisations read the instants of concerns."""
        program = load(ProgramFact(), payload)
        concerns.remember_time_zone(self.db, program["region_id"], program["time_zone"])
        log.info("region time zone recorded", extra={
            "region_id": program["region_id"], "time_zone": program["time_zone"],
        })

    @rpc
    def list_concerns(self, organisation_id, status=None, accessor=None):
        """The organisation's concerns, each with its household: a read of the trail's kind."""
        trail = self._trail(accessor)
        wanted = load(ConcernFilter(), {"status": status})
        organisation = self._register().organisation(organisation_id)
        answer = concerns.of_organisation(self.db, organisation.id, wanted["status"])

        trail.record("concern.list", [_concerned(organisation, item) for item in answer],
                     concerns.SHOWN_FIELDS)
        self.db.commit()
        return answer

    @rpc
    def acknowledge_concern(self, organisation_id, concern_id, accessor=None):
        return self._move_concern_on(organisation_id, concern_id, "acknowledge", accessor)

    @rpc
    def close_concern(self, organisation_id, concern_id, accessor=None):
        return self._move_concern_on(organisation_id, concern_id, "close", accessor)

    @rpc
    def restaurant_concerns(self, restaurant_id):
        """The concerns a restaurant raised, with their status only: no household at all."""
        restaurant_id = load(ConcernRef(), {"id": restaurant_id})["id"]
        return concerns.of_restaurant(self.db, restaurant_id)

    # -- activation codes and cards ------------------------------------------------------------

    @rpc
    def activate_app(self, activation_code):
        household = self._register().activate(activation_code)
        self.db.commit()
        log.info("app activated", extra={"household_id": household.id})
        return {
            "household_id": household.id,
            "region_id": household.region_id,
            "organisation_id": household.organisation_id,
        }

    @rpc
    def issue_activation_code(self, organisation_id, household_id, accessor=None):
        """A new code when the first one expired or was lost; older codes stop working."""
        trail = self._trail(accessor)
        register = self._register()
        household = register.household(organisation_id, household_id, lock=True)
        credentials = register.issue_activation_code(household)
        trail.record("household.activation_code", [household], ["activation_code"])
        self.db.commit()
        log.info("activation code reissued", extra={"household_id": household.id})
        return {**self._household_out(household, None), **credentials}

    @rpc
    def replace_card(self, organisation_id, household_id, reason, replaced_by,
                     idempotency_key=None, accessor=None):
        """Block a lost, stolen or damaged card and issue a new number, in one audited step.

        ``replaced_by`` names the staff role that asked (``organisation:<id>``). Once this has
        answered, the old number is refused at the counter and the new one draws on the same
        ticket; with an ``idempotency_key``, the same request again gets the first answer and
        replaces nothing twice.
        """
        trail = self._trail(accessor)
        request = load(CardReplacementIn(), {"reason": reason, "replaced_by": replaced_by})
        keyed = idempotency.claim(self.db, "enrollment.replace_card", idempotency_key, {
            "organisation_id": organisation_id, "household_id": household_id, **request,
        })
        if keyed.answered:
            # Pushed again: the first push may be the one that did not get through.
            facts = self._replacement_facts(keyed.answer["replacement"]["replacement_id"])
            # Committing the record also leaves no transaction open during the push.
            self._replayed(trail, "household.card_replace", [keyed.answer], SHOWN_FIELDS)
            return self._in_force_at_counter(keyed.answer, self.counter.card_replacement(*facts))

        register = self._register()
        household = register.household(organisation_id, household_id, lock=True)
        replaced = register.replace_card(household, request["reason"], request["replaced_by"])
        trail.record("household.card_replace", [household], ["card_number"])
        answer = keyed.remember(self.db, {
            **self._household_out(household, replaced.issued["card_number"]),
            "replacement": CardReplacementOut().dump(replaced.replacement),
        })
        self.db.commit()

        in_force = self.counter.card_replacement(replaced.blocked, replaced.issued)
        metrics.count_card_replaced(household.region_id, request["reason"])
        log.info("card replaced", extra={
            "household_id": household.id, "replacement_id": replaced.replacement.id,
            "reason": request["reason"], "in_force_at_counter": in_force,
        })
        return self._in_force_at_counter(answer, in_force)

    # -- for other services --------------------------------------------------------------------

    @rpc
    def get_contacts(self, household_ids, accessor=None):
        """How to reach households, for the notification service only; unknown ids are left out.

        Recorded in the trail as the notification service's unless told otherwise.
        """
        trail = self._trail(accessor, default=NOTIFICATION)
        request = load(shared(ContactsRequest), {"household_ids": household_ids})
        rows = self._register().households_by_id(request["household_ids"])
        answer = [contact(household, organisation) for household, organisation in rows]

        trail.record("household.contacts", [household for household, _ in rows],
                     CONTACT_FIELDS)
        self.db.commit()
        # How many, never whose: the request's correlation id ties it to what asked.
        log.info("contacts given", extra={"asked": len(request["household_ids"]),
                                          "found": len(answer)})
        return answer

    @rpc
    def access_trail(self, query):
        """A page of the access trail of one organisation or one region (``query``: exactly
        one of ``organisation_id`` and ``region_id``; ``household_id``, ``since``, ``until``,
        ``after`` (a record id) and ``limit`` narrow it) → ``{records, next_after}``."""
        records, next_after = read_trail(self.db, query)
        return {"records": AccessRecordOut(many=True).dump(records), "next_after": next_after}

    @rpc
    def household_counts(self, region_id):
        """Per organisation of the region: its cap, households by status, active ones by channel."""
        register = self._register()
        counts = {
            organisation.id: {
                "name": organisation.name, "cap": organisation.household_cap,
                "active": 0, "suspended": 0, "withdrawn": 0, "app": 0, "card": 0,
            }
            for organisation in register.organisations(region_id)
        }
        for organisation_id, status, channel, number in register.counts_by_organisation(region_id):
            tally = counts[organisation_id]
            tally[status] += number
            if status == domain.ACTIVE:
                tally[channel] += number
        return counts

    # -- helpers -------------------------------------------------------------------------------

    def _move_concern_on(self, organisation_id, concern_id, action, accessor=None):
        trail = self._trail(accessor)
        concern_id = load(ConcernRef(), {"id": concern_id})["id"]
        concern = concerns.move_on(self.db, organisation_id, concern_id, action, utc_now())
        organisation = self._register().organisation(organisation_id)
        trail.record(f"concern.{action}", [_concerned(organisation, concern)],
                     concerns.SHOWN_FIELDS)
        self.db.commit()
        log.info("concern status changed", extra={
            "concern_id": concern_id, "organisation_id": organisation_id,
            "status": concern["status"],
        })
        return concern

    @staticmethod
    def _lock_both(register, from_id, to_id):
        """Lock the two organisations of a move, always in the same order, so that two moves
        between them in opposite directions cannot wait on each other."""
        locked = {}
        for organisation_id in sorted({from_id, to_id}):
            try:
                locked[organisation_id] = register.organisation(organisation_id, lock=True)
            except NotFound:
                if organisation_id != to_id:
                    raise
                raise InvalidInput("invalid_input", "to_organisation_id: no such organisation",
                                   {"fields": {"to_organisation_id": ["no such organisation"]}}
                                   ) from None
        return locked[from_id], locked[to_id]

    def _register(self):
        return Register(self.db, self.outbox)

    def _trail(self, accessor, default=None):
        """The trail this call writes to, for the accessor it was given (checked first)."""
        given = accessor_from(accessor, default or UNATTRIBUTED)
        return Trail(self.db, given, self.correlation, utc_now)

    def _replayed(self, trail, action, answers, fields):
        """A stored answer handed out again shows its personal data again: a read."""
        trail.record(f"{action}.replayed", [Seen.of(answer) for answer in answers], fields)
        self.db.commit()
        return answers[0]

    def _replayed_import(self, trail, organisation_id, answer):
        organisation = self._register().organisation(organisation_id)
        handed_out = [Seen(row["household_id"], organisation.id, organisation.region_id)
                      for row in answer["rows"] if row["outcome"] == CREATED]
        trail.record("household.import.replayed", handed_out,
                     ["activation_code", "card_number"])
        self.db.commit()
        return answer

    @staticmethod
    def _record_import(trail, organisation, outcomes):
        """Households created by the file, and updated ones grouped by the fields changed."""
        created = [Seen(line.household_id, organisation.id, organisation.region_id)
                   for line in outcomes if line.outcome == CREATED]
        trail.record("household.import.enrol", created, domain.DETAIL_FIELDS)

        updated_by_fields = {}
        for line in outcomes:
            if line.outcome == UPDATED:
                updated_by_fields.setdefault(tuple(line.changed), []).append(
                    Seen(line.household_id, organisation.id, organisation.region_id))
        for changed, households in updated_by_fields.items():
            trail.record("household.import.update", households, changed)

    def _change_status(self, organisation_id, household_id, action, accessor=None):
        trail = self._trail(accessor)
        register = self._register()
        household = register.household(organisation_id, household_id)
        if action == "reinstate":
            # Lock the organisation first, as enrolment does, so two reinstatements cannot
            # both take the last place under the cap.
            organisation = register.organisation(household.organisation_id, lock=True)
            household = register.household(organisation_id, household_id, lock=True)
            if household.status == domain.SUSPENDED:
                domain.ensure_room(organisation.household_cap,
                                   register.active_households(organisation.id))
        else:
            household = register.household(organisation_id, household_id, lock=True)

        change = register.change_status(household, action)
        trail.record(f"household.{action}", [household], ["status"])
        self.db.commit()

        in_force = self.counter.household_status(change.fact)
        log.info("household status changed", extra={
            "household_id": household.id, "status": household.status,
            "in_force_at_counter": in_force,
        })
        answer = self._household_out(household, register.current_card(household.id))
        return self._in_force_at_counter(answer, in_force)

    def _replacement_facts(self, replacement_id):
        """The card_blocked and card_issued facts of an earlier replacement."""
        replacement = self.db.get(CardReplacement, replacement_id)
        region_id = self.db.get(Household, replacement.household_id).region_id
        return Register.card_replacement_facts(replacement, region_id)

    @staticmethod
    def _in_force_at_counter(answer, in_force):
        # Not part of the answer kept under an idempotency key: it says what holds now.
        return {**answer, "in_force_at_counter": in_force}

    def _count_import(self, organisation, outcomes, summary):
        metrics.count_import(summary)
        for line in outcomes:
            if line.outcome == CREATED:
                metrics.count_enrolled(organisation.region_id, line.channel)

    @staticmethod
    def _household_out(household, card_number):
        return {**HouseholdOut().dump(household), "card_number": card_number}


@dataclass(frozen=True)
class Seen:
    """A household as the trail needs it, when only its id and owner are at hand."""

    id: str
    organisation_id: str
    region_id: str

    @classmethod
    def of(cls, answer):
        return cls(answer["id"], answer["organisation_id"], answer["region_id"])


def _concerned(organisation, concern):
    """The household a concern shown to its organisation is about, as the trail needs it."""
    return Seen(concern["household_id"], organisation.id, organisation.region_id)


def contact(household, organisation):
    return {
        "household_id": household.id,
        "status": household.status,
        "channel": household.channel,
        "language": household.language,
        "notify_by": household.notify_by,
        "email": household.email,
        "phone": household.phone,
        "organisation_id": organisation.id,
        "organisation_name": organisation.name,
        "organisation_email": organisation.contact_email,
        "external_ref": household.external_ref,
    }
