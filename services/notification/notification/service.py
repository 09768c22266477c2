"""Notification as a nameko service: hears facts, asks enrollment whom to tell, tells them.

Each handler parses the fact, asks enrollment for the contacts of every household it concerns
in one call, lets the domain decide the messages, then renders, sends and records them. The
delivery log rows and their ``notification_delivered`` / ``notification_failed`` events commit
together with the record that the fact was applied (see shokudo_common.handlers).
"""

import logging
from collections import Counter as Tally

from prometheus_client import Counter

from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.rpc import ServiceRpc
from shokudo_common.validation import load

from notification import domain, rendering, repository
from notification.mailer import Mailer, MailNotSent
from notification.schemas import (
    ConcernRecorded, Contacts, Organisation, SummaryQuery, TicketRedeemed, TicketsIssued,
)

log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "shokudo_notifications_total",
    "Messages to households and organisations, by channel and outcome",
    ["channel", "outcome"],
)

# The fact announced for each outcome; a skipped message is one that did not reach anyone.
OUTCOME_EVENTS = {
    domain.SENT: "notification_delivered",
    domain.FAILED: "notification_failed",
    domain.SKIPPED: "notification_failed",
}


class NotificationService(OperationalEndpoints):
    name = "notification"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()
    enrollment = ServiceRpc("enrollment")
    mailer = Mailer()

    @on_event("issuance", "tickets_issued")
    def on_tickets_issued(self, payload):
        """A batch of grants: each family, or its organisation, hears that tickets arrived."""
        issue = load(TicketsIssued(), payload)
        repository.remember_time_zone(self.db, issue["region_id"], issue["time_zone"])

        contacts = self._contacts(grant["household_id"] for grant in issue["grants"])
        messages = domain.tickets_issued_messages(issue, contacts)

        self._deliver(payload["event_id"], issue["region_id"], messages)

    @on_event("redemption", "ticket_redeemed")
    def on_ticket_redeemed(self, payload):
        """A meal paid with a ticket: a receipt to the family, or a notice to its organisation."""
        redemption = load(TicketRedeemed(), payload)
        region_id = redemption["region_id"]
        time_zone = repository.time_zone_of(self.db, region_id) or domain.DEFAULT_TIME_ZONE

        contacts = self._contacts([redemption["household_id"]])
        messages = domain.ticket_redeemed_messages(redemption, contacts, time_zone)

        self._deliver(payload["event_id"], region_id, messages)

    @on_event("enrollment", "concern_recorded")
    def on_concern_recorded(self, payload):
        """A restaurant's concern waits for an organisation: its contact hears that, only."""
        concern = load(ConcernRecorded(), payload)
        organisation = load(Organisation(),
                            self.enrollment.get_organisation(concern["organisation_id"]))
        message = domain.concern_waiting_message(concern, organisation)

        self._deliver(payload["event_id"], concern["region_id"], [message])

    @rpc
    def delivery_summary(self, region_id=None):
        """How many messages went, failed or were skipped, by channel, in a region or overall."""
        query = load(SummaryQuery(), {"region_id": region_id})
        return repository.summary(self.db, query["region_id"])

    def _contacts(self, household_ids):
        """Enrollment's contacts for all these households, in one call."""
        household_ids = sorted(set(household_ids))
        if not household_ids:
            return []
        reply = self.enrollment.get_contacts(household_ids)
        return load(Contacts(), {"contacts": reply})["contacts"]

    def _deliver(self, event_id, region_id, messages):
        # Render everything before sending anything: a broken template must stop the batch
        # before any family receives a message, or the retry would send some of them twice.
        # Known gap: a database failure after some messages went out rolls their log rows
        # back, and the handler's retry sends those again. Failed sends are not retried and
        # quiet hours are not kept yet; both wait for the retry-with-backoff issue.
        letters = [(message, rendering.render_message(message)) for message in messages]

        tally = Tally()
        with self.mailer.conversation() as post:
            for message, letter in letters:
                delivery_id = repository.claim(self.db, event_id, region_id, message)
                if delivery_id is None:
                    continue  # an earlier delivery of this event produced it already

                outcome, error_code = self._send(post, message, letter)
                self._record(delivery_id, region_id, message, outcome, error_code)
                tally[outcome] += 1

        log.info("notifications handled", extra=dict(tally, event_id=event_id,
                                                      region_id=region_id))

    def _send(self, post, message, letter):
        if message.skip_reason:
            outcome, error_code = domain.SKIPPED, message.skip_reason
        else:
            try:
                post.send(message.address, letter, message.languages)
                outcome, error_code = domain.SENT, None
            except MailNotSent as failure:
                outcome, error_code = domain.FAILED, failure.code

        NOTIFICATIONS.labels(message.channel, outcome).inc()
        return outcome, error_code

    def _record(self, delivery_id, region_id, message, outcome, error_code):
        """Settle the log row and announce the outcome; ids and codes only, never an address."""
        repository.settle(self.db, delivery_id, outcome, error_code)
        self.outbox.add(self.db, OUTCOME_EVENTS[outcome], {
            "delivery_id": delivery_id,
            "household_id": message.household_id,
            "organisation_id": message.organisation_id,
            "region_id": region_id,
            "channel": message.channel,
            "template": message.template,
            "outcome": outcome,
            "error_code": error_code,
        })
        if outcome != domain.SENT:
            log.warning("notification not sent", extra={
                "delivery_id": delivery_id, "household_id": message.household_id,
                "organisation_id": message.organisation_id, "channel": message.channel,
                "template": message.template, "error_code": error_code,
            })
