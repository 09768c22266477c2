"""What an organisation's office does with paper: cards, card sheets, app letters, its export.

These calls are mixed into :class:`enrollment.service.EnrollmentService` and work as its other
calls do: parse at the edge, let the register decide, commit once. Files travel over RPC as
base64 (nameko speaks JSON) or, for the CSV, as text; the gateway serves them as they are.

Drawing a PDF is CPU work (a sheet of 200 cards takes about half a second): it runs in
eventlet's thread pool, so the worker's hub keeps answering the broker's heartbeats meanwhile.

Each call shows or changes personal data, so each takes an ``accessor`` and leaves its record
in the access trail (:mod:`enrollment.audit`), as the service's other calls do.

Blocking a lost card must hold at the counter the moment the organisation hears of it, as a
replacement does: after the commit the block is applied in redemption before the answer.
"""

import base64
import logging
from datetime import datetime

from eventlet import tpool

from shokudo_common import idempotency
from shokudo_common.entrypoints import rpc
from shokudo_common.validation import load

from enrollment import domain, export, metrics, printing
from enrollment.audit import SHOWN_FIELDS
from enrollment.households import card_blocked
from enrollment.schemas import CardBlockIn, CardSheetRequest, HouseholdFilter

log = logging.getLogger(__name__)


class OfficeEndpoints:
    """RPC for cards, printed documents and the export; needs the service's db and register."""

    # -- cards ---------------------------------------------------------------------------------

    @rpc
    def issue_card(self, organisation_id, household_id, idempotency_key=None, accessor=None):
        """A card for a household with none in use: a first card, or leaving the app for one.

        After a lost card was blocked, this is how the household gets its next card. A household
        with a card in use is refused (``card_in_use``): a lost card is replaced instead.
        """
        trail = self._trail(accessor)
        keyed = idempotency.claim(self.db, "enrollment.issue_card", idempotency_key, {
            "organisation_id": organisation_id, "household_id": household_id,
        })
        if keyed.answered:
            return self._replayed(trail, "household.card_issue", [keyed.answer], SHOWN_FIELDS)

        register = self._register()
        household = register.household(organisation_id, household_id, lock=True)
        issued = register.issue_card(household)
        trail.record("household.card_issue", [household], ["card_number"])
        answer = keyed.remember(self.db, self._household_out(household, issued["card_number"]))
        self.db.commit()

        log.info("card issued", extra={"household_id": household.id})
        return answer

    @rpc
    def block_card(self, organisation_id, household_id, reason, blocked_by,
                   idempotency_key=None, accessor=None):
        """Block a lost or stolen card with no new one yet; refused at the counter on answer.

        ``blocked_by`` names the staff role that asked, as for ``replace_card``. The household
        keeps its ticket: a card issued later (``issue_card``) draws on the same balance.
        """
        trail = self._trail(accessor)
        request = load(CardBlockIn(), {"reason": reason, "blocked_by": blocked_by})
        keyed = idempotency.claim(self.db, "enrollment.block_card", idempotency_key, {
            "organisation_id": organisation_id, "household_id": household_id, **request,
        })
        if keyed.answered:
            # Pushed again: the first push may be the one that did not get through.
            answer = keyed.answer
            # Committing the record also leaves no transaction open during the push.
            self._replayed(trail, "household.card_block", [answer], SHOWN_FIELDS)
            blocked = card_blocked(answer["id"], answer["blocked_card_number"])
            return {**answer, "in_force_at_counter": self.counter.card_blocked(blocked)}

        register = self._register()
        household = register.household(organisation_id, household_id, lock=True)
        blocked = register.block_card(household, request["reason"], request["blocked_by"])
        trail.record("household.card_block", [household], ["card_number"])
        answer = keyed.remember(self.db, {
            **self._household_out(household, None),
            "blocked_card_number": blocked["card_number"], "block_reason": request["reason"],
        })
        self.db.commit()

        in_force = self.counter.card_blocked(blocked)
        metrics.count_card_blocked(household.region_id, request["reason"])
        log.info("card blocked", extra={
            "household_id": household.id, "reason": request["reason"],
            "in_force_at_counter": in_force,
        })
        return {**answer, "in_force_at_counter": in_force}

    # -- documents -----------------------------------------------------------------------------

    @rpc
    def export_households(self, organisation_id, status=None, accessor=None):
        """The organisation's households as CSV text for Excel (BOM, CRLF), import's headers."""
        trail = self._trail(accessor)
        wanted = load(HouseholdFilter(), {"status": status})
        register = self._register()
        organisation = register.organisation(organisation_id)
        households = register.households(organisation.id, wanted["status"])
        exported = export.households_csv(households)
        trail.record("household.export", households, domain.DETAIL_FIELDS)
        self.db.commit()

        metrics.count_document("household_export")
        log.info("households exported", extra={
            "organisation_id": organisation.id, "households": len(households),
        })
        return exported

    @rpc
    def card_sheet(self, organisation_id, household_id=None, accessor=None):
        """A PDF of cards to cut out: one household's, or every active card household's."""
        trail = self._trail(accessor)
        request = load(CardSheetRequest(), {"household_id": household_id})
        register = self._register()
        organisation = register.organisation(organisation_id)
        cards = register.printable_cards(organisation.id, request["household_id"])

        pdf = tpool.execute(
            printing.card_sheets,
            printing.Organisation(organisation.name, organisation.contact_phone),
            [printing.PrintedCard(card_number, household.external_ref)
             for household, card_number in cards],
        )
        trail.record("household.card_sheet", [household for household, _ in cards],
                     ["external_ref", "card_number"])
        self.db.commit()

        metrics.count_document("card_sheet")
        log.info("card sheet printed", extra={
            "organisation_id": organisation.id, "cards": len(cards),
        })
        return {"cards": len(cards), "pdf_base64": _base64(pdf)}

    @rpc
    def app_letter(self, organisation_id, household_id, accessor=None):
        """A letter to an app household's guardian with a fresh code; earlier codes stop working.

        The code is in the PDF only: the answer carries no code, and nothing is logged of it.
        """
        trail = self._trail(accessor)
        register = self._register()
        organisation = register.organisation(organisation_id)
        household = register.household(organisation.id, household_id, lock=True)
        credentials = register.issue_activation_code(household)
        expires_at = datetime.fromisoformat(credentials["activation_code_expires_at"])

        # Drawn before the commit: a letter that cannot be made voids no earlier code.
        pdf = tpool.execute(
            printing.app_letter,
            printing.Organisation(organisation.name, organisation.contact_phone),
            printing.Letter(household.guardian_name, credentials["activation_code"],
                            expires_at),
            register.now().astimezone(printing.LETTER_TIME_ZONE),
        )
        trail.record("household.app_letter", [household], ["guardian_name", "activation_code"])
        self.db.commit()

        metrics.count_document("app_letter")
        log.info("app letter printed", extra={"household_id": household.id})
        return {"household_id": household.id, "activation_code_expires_at": expires_at.isoformat(),
                "pdf_base64": _base64(pdf)}


def _base64(pdf):
    return base64.b64encode(pdf).decode("ascii")
