"""Redemption as a nameko service: a thin entrypoint over the counter, the ledger and reports.

RPC answers questions of the gateway (redeem, balances, statements); event handlers keep the
projections of tickets (issuance), restaurants (directory), households and cards (enrollment).
"""

import logging

from shokudo_common.clock import Clock
from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.errors import NotFound
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.validation import load

from redemption import counter, metrics, projections, reports
from redemption.models import Household, Restaurant
from redemption.qr import QrTokens
from redemption.schemas import (
    HouseholdRef, RedeemRequest, StatementRequest, SummaryRequest,
)

log = logging.getLogger(__name__)


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
        request = load(RedeemRequest(), data)
        return counter.redeem(self.db, self.outbox, self.qr_tokens, request, self.clock.now())

    @rpc
    def issue_qr_token(self, household_id):
        """A short-lived QR code for the household's app to show at the counter."""
        household_id = self._household_id(household_id)
        if self.db.get(Household, household_id) is None:
            raise NotFound("household_not_found", f"no household {household_id}")

        token, expires_at = self.qr_tokens.issue(household_id, self.clock.now())
        return {"token": token, "expires_at": expires_at.isoformat()}

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
        restaurant = self.db.get(Restaurant, request["restaurant_id"])
        if restaurant is None:
            raise NotFound("restaurant_not_found", f"no restaurant {restaurant_id}")
        return reports.restaurant_statement(self.db, restaurant, request["month"])

    @rpc
    def region_summary(self, region_id, month):
        request = load(SummaryRequest(), {"region_id": region_id, "month": month})
        return reports.region_summary(self.db, request["region_id"], request["month"])

    # -- projections ----------------------------------------------------------------------

    @on_event("issuance", "tickets_issued")
    def on_tickets_issued(self, payload):
        count = projections.record_tickets(self.db, payload)
        log.info("tickets recorded", extra={
            "run_id": payload.get("run_id"), "region_id": payload["region_id"],
            "period": payload["period"], "tickets": count,
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

    def _household_id(self, household_id):
        return load(HouseholdRef(), {"household_id": household_id})["household_id"]


def _ignore_stale(event_type, subject, payload):
    """A late or repeated fact: the projection already holds a newer one. Not an error."""
    metrics.STALE_FACTS.labels(event_type).inc()
    log.info("stale fact ignored", extra={
        **subject, "event_type": event_type, "version": payload.get("version"),
    })
