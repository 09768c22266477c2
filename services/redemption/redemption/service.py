"""Redemption as a nameko service: a thin entrypoint over the counter, the ledger and reports.

RPC answers questions of the gateway (redeem and void, balances, statements, settlement and
accounts); event handlers keep the projections of tickets and programs (issuance), restaurants
(directory), households and cards (enrollment); a timer in every replica expires the tickets
whose window has closed.
"""

import logging

from sqlalchemy.exc import SQLAlchemyError

from shokudo_common.clock import Clock
from shokudo_common.db import Database
from shokudo_common.entrypoints import ConfiguredTimer, rpc
from shokudo_common.errors import Conflict, NotFound
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.validation import load, shared

from redemption import (
    accounts, care, closing, counter, expiry, ledger, metrics, projections, reports, voids,
)
from redemption.models import Household, Restaurant
from redemption.qr import QrTokens
from redemption.schemas import (
    AccountsRequest, ConcernRequest, DayRequest, HouseholdRef, ProgramFact, RedeemRequest,
    StatementRequest, SummaryRequest, UsageRequest, VoidRequest,
)

log = logging.getLogger(__name__)

timer = ConfiguredTimer.decorator


class RedemptionService(OperationalEndpoints):
    name = "redemption"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()
    clock = Clock()
    qr_tokens = QrTokens()

    # -- the counter ----------------------------------------------------------------------

    @rpc
    def redeem(self, data):
        """Pay (part of) a bill with the ticket behind a card or QR code, or decline."""
        request = load(shared(RedeemRequest), data)
        return counter.redeem(self.db, self.outbox, self.qr_tokens, request, self.clock)

    @rpc
    def void_redemption(self, restaurant_id, redemption_id, idempotency_key=None):
        """Undo one of the restaurant's own redemptions: its yen go back to the ticket.

        Refused (Conflict) when voided already, once the month's statement is closed, or after
        the program's void window; another restaurant's redemption is not found.
        """
        request = load(VoidRequest(), {"restaurant_id": restaurant_id,
                                       "redemption_id": redemption_id,
                                       "idempotency_key": idempotency_key})
        return voids.void(self.db, self.outbox, self.clock, request)

    @rpc
    def issue_qr_token(self, household_id):
        """A short-lived QR code for the household's app, bound to the ticket it draws on:
        the one usable now, or else the next to open (``Conflict`` ``no_ticket`` if none)."""
        household_id = self._household_id(household_id)
        if self.db.get(Household, household_id) is None:
            raise NotFound("household_not_found", f"no household {household_id}")

        now = self.clock.now()
        ticket = ledger.current_ticket(self.db, household_id, now)
        if ticket is None:
            raise Conflict("no_ticket", "the household has no ticket to show at the counter")

        token, expires_at = self.qr_tokens.issue(household_id, ticket, now)
        return {"token": token, "expires_at": expires_at.isoformat(), "period": ticket.period}

    # -- households -----------------------------------------------------------------------

    @rpc
    def get_balance(self, household_id):
        return reports.balance(self.db, self._household_id(household_id), self.clock.now())

    @rpc
    def history(self, household_id):
        return reports.history(self.db, self._household_id(household_id))

    # -- restaurants and regions ----------------------------------------------------------

    @rpc
    def restaurant_statement(self, restaurant_id, month):
        request = load(StatementRequest(), {"restaurant_id": restaurant_id, "month": month})
        restaurant = self._restaurant(request["restaurant_id"])
        return reports.restaurant_statement(self.db, restaurant, request["month"])

    @rpc
    def close_statement(self, restaurant_id, month):
        """Freeze the restaurant's statement of a month that is over; closing again is a no-op."""
        request = load(StatementRequest(), {"restaurant_id": restaurant_id, "month": month})
        restaurant = self._restaurant(request["restaurant_id"])
        return closing.close_statement(self.db, restaurant, request["month"], self.clock.now())

    @rpc
    def region_summary(self, region_id, month):
        request = load(SummaryRequest(), {"region_id": region_id, "month": month})
        return reports.region_summary(self.db, request["region_id"], request["month"])

    @rpc
    def settlement_csv(self, region_id, month):
        """What is owed to each restaurant of the region for a month, as CSV text for Excel."""
        request = load(SummaryRequest(), {"region_id": region_id, "month": month})
        return reports.settlement_csv(self.db, request["region_id"], request["month"])

    @rpc
    def ticket_accounts(self, region_id, period):
        """Where the yen of the region's tickets of ``period`` are: redemption's side."""
        request = load(AccountsRequest(), {"region_id": region_id, "period": period})
        return accounts.ticket_accounts(self.db, request["region_id"], request["period"])

    # -- care: usage, the counter's day, concerns -----------------------------------------

    @rpc
    def organisation_usage(self, organisation_id, region_id, period=None, reach_out_only=False):
        """Each household of the organisation this period: granted, used, left, last use, and
        ``reach_out`` for those that used neither this period's ticket nor the last."""
        request = load(UsageRequest(), {
            "organisation_id": organisation_id, "region_id": region_id, "period": period,
            "reach_out_only": reach_out_only,
        })
        return care.organisation_usage(self.db, request, self.clock.now())

    @rpc
    def restaurant_day(self, restaurant_id, date=None):
        """The restaurant's redemptions of one local day, voided ones marked; no household."""
        request = load(DayRequest(), {"restaurant_id": restaurant_id, "date": date})
        restaurant = self._restaurant(request["restaurant_id"])
        return care.restaurant_day(self.db, restaurant, request["date"], self.clock.now())

    @rpc
    def raise_concern(self, restaurant_id, redemption_id, category, note, idempotency_key=None):
        """A concern about the child of one of the restaurant's redemptions, announced to the
        organisation that referred the household; the restaurant learns nothing about it."""
        request = load(ConcernRequest(), {
            "restaurant_id": restaurant_id, "redemption_id": redemption_id,
            "category": category, "note": note, "idempotency_key": idempotency_key,
        })
        return care.raise_concern(self.db, self.outbox, request, self.clock.now())

    # -- expiry ---------------------------------------------------------------------------

    @timer("EXPIRY_TIMER_SECONDS", default=60)
    def expire_tickets(self):
        """Expire the tickets whose window has closed. Every replica does it; none twice."""
        try:
            expiry.expire_due_tickets(self.db, self.outbox, self.clock)
        # The next tick tries again; the tickets stay due until their expiry commits.
        except SQLAlchemyError as error:
            self.db.rollback()
            log.error("tickets not expired", extra={"error": type(error).__name__})

    # -- enrollment's changes, in force before enrollment answers -------------------------

    @rpc
    def apply_household_status(self, fact):
        """A household_* fact from enrollment, applied before the organisation hears "done".

        The same projection as the household_* events and ordered the same way, by the fact's
        version: of this call and the event carrying the same fact, whichever comes second
        changes nothing. Answers what the counter holds now.
        """
        # The fact states the status, so no event type stands in for it.
        projections.record_household(self.db, None, fact)
        self.db.commit()
        household = self.db.get(Household, fact["household_id"], populate_existing=True)
        log.info("household status applied at once", extra={
            "household_id": household.id, "status": household.status,
            "version": household.version,
        })
        return {"household_id": household.id, "status": household.status,
                "version": household.version}

    @rpc
    def apply_household_move(self, fact):
        """enrollment's household_moved fact, applied before the organisation hears "moved":
        the same projection as the event, ordered by version."""
        care.record_household_moved(self.db, fact)
        self.db.commit()
        household = self.db.get(Household, fact["household_id"], populate_existing=True)
        log.info("household move applied at once", extra={
            "household_id": household.id, "organisation_id": household.organisation_id,
            "version": household.version,
        })
        return {"household_id": household.id, "organisation_id": household.organisation_id,
                "version": household.version}

    @rpc
    def apply_card_replacement(self, blocked, issued):
        """enrollment's card_blocked and card_issued facts of one replacement, in one commit.

        The same projections as the two events, which never unblock a card: the old number is
        refused and the new one draws on the household's ticket from this commit on.
        """
        projections.record_card_blocked(self.db, blocked)
        projections.record_card_issued(self.db, issued)
        self.db.commit()
        log.info("card replacement applied at once", extra={
            "household_id": issued["household_id"],
            "replacement_id": issued.get("replacement_id"),
        })
        return {"household_id": issued["household_id"],
                "replacement_id": issued.get("replacement_id")}

    @rpc
    def apply_card_blocked(self, blocked):
        """enrollment's card_blocked fact of a lost card with no new one yet, in force at once.

        The same projection as the event, which comes later and then changes nothing.
        """
        projections.record_card_blocked(self.db, blocked)
        self.db.commit()
        log.info("card block applied at once", extra={"household_id": blocked["household_id"]})
        return {"household_id": blocked["household_id"]}

    # -- projections ----------------------------------------------------------------------

    @on_event("issuance", "tickets_issued")
    def on_tickets_issued(self, payload):
        count = projections.record_tickets(self.db, payload)
        log.info("tickets recorded", extra={
            "run_id": payload.get("run_id"), "region_id": payload["region_id"],
            "period": payload["period"], "tickets": count,
        })

    @on_event("issuance", "program_updated")
    def on_program_updated(self, payload):
        program = load(ProgramFact(), payload)
        projections.record_program(self.db, program)
        log.info("program recorded", extra={
            "region_id": program["region_id"], "time_zone": program["time_zone"],
            "void_window_hours": program["void_window_hours"],
        })

    @on_event("directory", "restaurant_joined")
    def on_restaurant_joined(self, payload):
        self._record_restaurant("restaurant_joined", payload)

    @on_event("directory", "restaurant_updated")
    def on_restaurant_updated(self, payload):
        self._record_restaurant("restaurant_updated", payload)

    @on_event("directory", "restaurant_suspended")
    def on_restaurant_suspended(self, payload):
        self._record_restaurant("restaurant_suspended", payload)

    @on_event("enrollment", "household_enrolled")
    def on_household_enrolled(self, payload):
        self._record_household("household_enrolled", payload)

    @on_event("enrollment", "household_suspended")
    def on_household_suspended(self, payload):
        self._record_household("household_suspended", payload)

    @on_event("enrollment", "household_reinstated")
    def on_household_reinstated(self, payload):
        self._record_household("household_reinstated", payload)

    @on_event("enrollment", "household_withdrawn")
    def on_household_withdrawn(self, payload):
        self._record_household("household_withdrawn", payload)

    @on_event("enrollment", "household_moved")
    def on_household_moved(self, payload):
        if not care.record_household_moved(self.db, payload):
            _ignore_stale("household_moved", {"household_id": payload["household_id"]},
                          payload)

    @on_event("enrollment", "card_issued")
    def on_card_issued(self, payload):
        projections.record_card_issued(self.db, payload)

    @on_event("enrollment", "card_blocked")
    def on_card_blocked(self, payload):
        projections.record_card_blocked(self.db, payload)

    def _record_restaurant(self, event_type, payload):
        if not projections.record_restaurant(self.db, payload):
            _ignore_stale(event_type, {"restaurant_id": payload["restaurant_id"]}, payload)

    def _record_household(self, event_type, payload):
        if not projections.record_household(self.db, event_type, payload):
            _ignore_stale(event_type, {"household_id": payload["household_id"]}, payload)

    def _restaurant(self, restaurant_id):
        restaurant = self.db.get(Restaurant, restaurant_id)
        if restaurant is None:
            raise NotFound("restaurant_not_found", f"no restaurant {restaurant_id}")
        return restaurant

    def _household_id(self, household_id):
        return load(HouseholdRef(), {"household_id": household_id})["household_id"]


def _ignore_stale(event_type, subject, payload):
    """A late or repeated fact: the projection already holds a newer one. Not an error."""
    metrics.STALE_FACTS.labels(event_type).inc()
    log.info("stale fact ignored", extra={
        **subject, "event_type": event_type, "version": payload.get("version"),
    })
