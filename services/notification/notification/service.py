"""Notification as a nameko service: hears facts, asks enrollment whom to tell, tells them.

Each handler parses the fact, asks enrollment for the contacts of every household it concerns
in one call, lets the domain decide the messages and queues them in the delivery log: due now,
or at the end of the quiet hours for a family. The queued rows commit together with the record
that the fact was applied (see shokudo_common.handlers), so a fact never yields a message twice.

A timer in every replica (``send_due``) takes due messages with FOR UPDATE SKIP LOCKED, marks
them "sending" and commits, asks enrollment for the addresses, sends, and settles each message
in its own commit: sent, tried again later (exponential backoff) or failed after the last try.
The window left: a worker that dies after the relay took a message and before its settlement
commits leaves it "sending"; after DELIVERY_UNCONFIRMED_SECONDS it is logged as failed
(``send_not_confirmed``) and never sent again, so a family may get it while the log says failed,
but never twice.

Another timer (``remind``) reminds households of what is left on their ticket a week before its
window closes, once per household and period.
"""

import logging
import uuid
from collections import Counter as Tally
from itertools import groupby

from jinja2 import TemplateError
from prometheus_client import Counter, Gauge
from sqlalchemy.exc import SQLAlchemyError

from shokudo_common.clock import Clock
from shokudo_common.db import Database
from shokudo_common.entrypoints import ConfiguredTimer, rpc
from shokudo_common.errors import ShokudoError
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.rpc import ServiceRpc
from shokudo_common.validation import load, shared

from notification import domain, rendering, repository
from notification.contacts import ContactsDesk
from notification.channels import Dispatcher, NotSent, Outgoing, Providers
from notification.mailer import Mailer
from notification.policy import Policy
from notification.schemas import (
    ConcernRecorded, Contacts, PushTokenIn, SummaryQuery, TicketExpired, TicketRedeemed,
    TicketsIssued, TicketVoided,
)

log = logging.getLogger(__name__)
timer = ConfiguredTimer.decorator

NOTIFICATIONS = Counter(
    "shokudo_notifications_total",
    "Messages to households and organisations, by channel and outcome",
    ["channel", "outcome"],
)
DELIVERIES = Counter(
    "shokudo_notification_deliveries_total",
    "Tries and ends of messages: sent, retry (a failed try to be repeated), failed (after the "
    "last try, or never confirmed), skipped (nobody to send to)",
    ["channel", "template", "outcome"],
)
QUEUE = Gauge(
    "shokudo_notification_queue",
    "Messages in the delivery log waiting to go (pending) or being sent (sending), as this "
    "replica last counted them; every replica counts the same table, so aggregate with max",
    ["state"],
)
RETRY = "retry"

# Why a try did not happen or did not end as sent; stable codes in the delivery log.
CONTACTS_UNAVAILABLE = "contacts_unavailable"
RENDER_FAILED = "render_failed"

# The fact announced for each outcome; a skipped message is one that did not reach anyone.
# Workers asking for contacts at the same time share one call (notification.contacts).
CONTACTS_DESK = ContactsDesk()

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
    providers = Providers()
    policy = Policy()
    clock = Clock()

    @on_event("issuance", "tickets_issued")
    def on_tickets_issued(self, payload):
        """A batch of grants: each family, or its organisation, hears that tickets arrived."""
        issue = load(TicketsIssued(), payload)
        repository.remember_time_zone(self.db, issue["region_id"], issue["time_zone"])
        repository.track_grants(self.db, issue)

        contacts = self._contacts(grant["household_id"] for grant in issue["grants"])
        messages = domain.tickets_issued_messages(issue, contacts, self._dispatcher().available())

        self._enqueue(payload["event_id"], issue["region_id"], issue["time_zone"], messages)

    @on_event("redemption", "ticket_redeemed")
    def on_ticket_redeemed(self, payload):
        """A meal paid with a ticket: a receipt to the family, or a notice to its organisation."""
        redemption = load(shared(TicketRedeemed), payload)
        region_id = redemption["region_id"]
        time_zone = repository.time_zone_of(self.db, region_id) or domain.DEFAULT_TIME_ZONE
        if redemption["ticket_id"]:
            repository.follow_balance(self.db, redemption["ticket_id"],
                                      redemption["balance_yen"], redemption["at"])

        contacts = self._contacts([redemption["household_id"]])
        messages = domain.ticket_redeemed_messages(redemption, contacts, time_zone,
                                                   self._dispatcher().available())

        self._enqueue(payload["event_id"], region_id, time_zone, messages)

    @on_event("redemption", "ticket_voided")
    def on_ticket_voided(self, payload):
        """A void gives yen back to the ticket: the reminder must say what is left now."""
        void = load(TicketVoided(), payload)
        repository.follow_balance(self.db, void["ticket_id"], void["balance_yen"], void["at"])

    @on_event("redemption", "ticket_expired")
    def on_ticket_expired(self, payload):
        """An expired ticket is never reminded of."""
        expiry = load(TicketExpired(), payload)
        repository.close_ticket(self.db, expiry["ticket_id"])

    @on_event("enrollment", "concern_recorded")
    def on_concern_recorded(self, payload):
        """A restaurant's concern waits for an organisation: its contact hears that, only."""
        concern = load(ConcernRecorded(), payload)
        region_id = concern["region_id"]
        time_zone = repository.time_zone_of(self.db, region_id) or domain.DEFAULT_TIME_ZONE

        contacts = self._contacts([concern["household_id"]])
        messages = domain.concern_waiting_messages(concern, contacts)

        self._enqueue(payload["event_id"], region_id, time_zone, messages)

    @rpc
    def register_push_token(self, household_id, token, platform):
        """The device the family's app registered for push messages (the gateway passes the
        household its token names): the latest registration is the one written to."""
        device = load(PushTokenIn(), {"household_id": household_id, "token": token,
                                      "platform": platform})
        now = self.clock.now()
        repository.register_push_device(self.db, device["household_id"], device["token"],
                                        device["platform"], now)
        self.db.commit()
        # The token is an address: never in a log line.
        log.info("push device registered", extra={
            "household_id": device["household_id"], "platform": device["platform"]})
        return {"household_id": device["household_id"], "platform": device["platform"],
                "registered_at": now.isoformat()}

    @rpc
    def delivery_summary(self, region_id=None):
        """How many messages went, failed, were skipped or wait, by channel, in a region or
        overall."""
        query = load(SummaryQuery(), {"region_id": region_id})
        return repository.summary(self.db, query["region_id"])

    # -- timers -------------------------------------------------------------------------------

    @timer("REMINDER_TIMER_SECONDS", default=300)
    def remind(self):
        """Queue the reminders that have come due. Every replica does it; none twice."""
        try:
            self._remind(self.clock.now())
        # The next tick tries again: the claims of this one were rolled back with it.
        except (SQLAlchemyError, ShokudoError) as error:
            self.db.rollback()
            log.error("reminders not queued", extra={"error": type(error).__name__})

    @timer("DELIVERY_TIMER_SECONDS", default=2)
    def send_due(self):
        """Send the messages whose time has come. Every replica does it; none sends one twice."""
        try:
            self._send_due(self.clock.now())
        # What was taken stays "sending" and is given up as unconfirmed, never sent twice.
        except SQLAlchemyError as error:
            self.db.rollback()
            log.error("queued messages not sent", extra={"error": type(error).__name__})

    # -- queueing -----------------------------------------------------------------------------

    def _dispatcher(self):
        return Dispatcher(self.mailer, self.providers)

    def _contacts(self, household_ids):
        """Enrollment's contacts for all these households, in one call, shared with the other
        workers asking at the same time."""
        household_ids = sorted(set(household_ids))
        if not household_ids:
            return []
        reply = CONTACTS_DESK.contacts(household_ids, self.enrollment.get_contacts)
        contacts = load(shared(Contacts), {"contacts": reply})["contacts"]
        # How a family's app is reached is ours to keep, not enrollment's.
        devices = repository.push_devices(self.db, household_ids)
        for contact in contacts:
            token, platform = devices.get(contact["household_id"], (None, None))
            contact.update(push_token=token, push_platform=platform)
        return contacts

    def _enqueue(self, event_id, region_id, time_zone, messages):
        # Render everything before queueing anything: a broken template must stop the fact
        # (which is then parked) rather than leave messages that can never be written.
        for message in messages:
            rendering.render_message(message)

        now, tally = self.clock.now(), Tally()
        for message in messages:
            due_at = domain.not_before(message.channel, now, time_zone, self.policy.quiet_hours)
            delivery_id = repository.enqueue(self.db, event_id, region_id, message, due_at)
            if delivery_id is None:
                continue  # an earlier delivery of this event produced it already

            if message.fell_back_from:
                log.info("preferred channel has no provider here; email instead", extra={
                    "household_id": message.household_id, "preferred": message.fell_back_from,
                })
            if message.skip_reason:
                self._announce(delivery_id, region_id, message, domain.SKIPPED,
                               message.skip_reason)
            tally[domain.SKIPPED if message.skip_reason else domain.PENDING] += 1

        log.info("notifications queued", extra=dict(tally, event_id=event_id,
                                                     region_id=region_id))

    def _remind(self, now):
        tickets = repository.claim_reminders(self.db, now, self.policy.reminder_batch)
        if not tickets:
            self.db.rollback()
            return

        contacts = self._contacts(ticket.household_id for ticket in tickets)
        available = self._dispatcher().available()
        for region_id, in_region in groupby(tickets, key=lambda ticket: ticket.region_id):
            in_region = list(in_region)
            due = [domain.DueTicket(ticket.household_id, ticket.organisation_id,
                                    ticket.balance_yen, ticket.last_day) for ticket in in_region]
            messages = domain.reminder_messages(due, contacts, available)
            # The reminders table keeps each household and period to once; this id only
            # groups the messages of one tick.
            self._enqueue(str(uuid.uuid4()), region_id, in_region[0].time_zone, messages)

        self.db.commit()
        log.info("reminders queued", extra={"tickets": len(tickets)})

    # -- sending ------------------------------------------------------------------------------

    def _send_due(self, now):
        self._give_up_unconfirmed(now)

        taken = repository.take_due(self.db, now, self.policy.batch)
        self.db.commit()
        if taken:
            self._send_batch(taken, now)

        for state, number in repository.queue_sizes(self.db).items():
            QUEUE.labels(state).set(number)
        self.db.rollback()

    def _send_batch(self, taken, now):
        contacts, zones = self._addresses(taken), {}
        untried = list(taken)
        try:
            with self._dispatcher().post() as post:
                while untried:
                    queued = untried[0]
                    zone = zones.setdefault(queued.region_id, self._time_zone(queued.region_id))
                    self._send_one(post, queued, contacts, zone, now)
                    untried.pop(0)
        except SQLAlchemyError:
            # The message under way stays "sending" (it may have gone); the ones not tried
            # yet go back to the queue, if the database lets us.
            self.db.rollback()
            self._put_back(untried[1:], now)
            raise

    def _put_back(self, untried, now):
        try:
            for queued in untried:
                repository.try_again_at(self.db, queued.id, now, attempt_counted=False)
            self.db.commit()
        except SQLAlchemyError:
            self.db.rollback()
            log.error("untried messages left sending", extra={"messages": len(untried)})

    def _give_up_unconfirmed(self, now):
        before = now - self.policy.unconfirmed_after
        for row in repository.give_up_unconfirmed(self.db, before, now):
            self._announce(row.id, row.region_id, row, domain.FAILED,
                           repository.SEND_NOT_CONFIRMED)
        self.db.commit()

    def _addresses(self, taken):
        """Contacts by household for this batch; None when enrollment cannot say now."""
        wanted = [queued.contact_household_id for queued in taken if queued.contact_household_id]
        try:
            return {contact["household_id"]: contact for contact in self._contacts(wanted)}
        except ShokudoError as error:
            log.warning("contacts unavailable, messages will be tried again",
                        extra={"error": type(error).__name__, "messages": len(taken)})
            return None

    def _time_zone(self, region_id):
        return repository.time_zone_of(self.db, region_id) or domain.DEFAULT_TIME_ZONE

    def _send_one(self, post, queued, contacts, time_zone, now):
        # Quiet hours may have begun since the message was queued: it waits, its try unspent.
        held_until = domain.not_before(queued.channel, now, time_zone, self.policy.quiet_hours)
        if held_until > now:
            repository.try_again_at(self.db, queued.id, held_until, attempt_counted=False)
            self.db.commit()
            return
        if contacts is None:
            self._failed_try(queued, CONTACTS_UNAVAILABLE, time_zone, now)
            return

        contact = contacts.get(queued.contact_household_id)
        address, skip_reason = self._address(queued, contact)
        if skip_reason:
            self._finish(queued, domain.SKIPPED, skip_reason, now)
            return
        languages = domain.languages_of(queued.channel, queued.language)
        try:
            letter = rendering.render_for(queued.channel, queued.template, languages,
                                          queued.facts)
        except TemplateError:
            log.exception("message could not be written", extra={"delivery_id": queued.id})
            self._finish(queued, domain.FAILED, RENDER_FAILED, now)
            return

        outgoing = Outgoing(address, letter, languages, platform=contact.get("push_platform"))
        try:
            post.send(queued.channel, outgoing)
        except NotSent as failure:
            if failure.permanent:
                # The provider will never take this message as it is: no try again.
                self._finish(queued, domain.FAILED, failure.code, now,
                             provider_status=failure.provider_status)
                return
            self._failed_try(queued, failure.code, time_zone, now)
            return
        self._finish(queued, domain.SENT, None, now)
        # With the id of the request or fact that queued it, not the timer's own.
        log.info("notification sent", extra={
            "delivery_id": queued.id, "channel": queued.channel, "template": queued.template,
            "region_id": queued.region_id, "correlation_id": queued.correlation_id,
        })

    def _address(self, queued, contact):
        if contact is None:
            return None, domain.CONTACT_UNKNOWN
        not_now = domain.still_to_send(queued.template, contact)
        if not_now:
            return None, not_now
        if queued.channel == domain.ORGANISATION_NOTICE:
            return domain.notice_address(contact)
        return domain.family_address(queued.channel, contact)

    def _failed_try(self, queued, error_code, time_zone, now):
        retries = self.policy.retries
        if retries.exhausted(queued.attempts):
            self._finish(queued, domain.FAILED, error_code, now)
            return

        again_at = domain.not_before(queued.channel, now + retries.pause_after(queued.attempts),
                                     time_zone, self.policy.quiet_hours)
        repository.try_again_at(self.db, queued.id, again_at, error_code)
        self.db.commit()
        DELIVERIES.labels(queued.channel, queued.template, RETRY).inc()
        log.warning("notification not sent, will try again", extra={
            "delivery_id": queued.id, "channel": queued.channel, "template": queued.template,
            "attempt": queued.attempts, "error_code": error_code,
            "next_attempt_at": again_at.isoformat(),
        })

    def _finish(self, queued, outcome, error_code, now, provider_status=None):
        repository.settle(self.db, queued.id, outcome, error_code, now, provider_status)
        self._announce(queued.id, queued.region_id, queued, outcome, error_code,
                       provider_status)
        self.db.commit()

    def _announce(self, delivery_id, region_id, message, outcome, error_code,
                  provider_status=None):
        """Announce the outcome and count it; ids and codes only, never an address."""
        self.outbox.add(self.db, OUTCOME_EVENTS[outcome], {
            "delivery_id": delivery_id,
            "household_id": message.household_id,
            "organisation_id": message.organisation_id,
            "region_id": region_id,
            "channel": message.channel,
            "template": message.template,
            "outcome": outcome,
            "error_code": error_code,
            "provider_status": provider_status,
        })
        NOTIFICATIONS.labels(message.channel, outcome).inc()
        DELIVERIES.labels(message.channel, message.template, outcome).inc()
        if outcome != domain.SENT:
            log.warning("notification not sent", extra={
                "delivery_id": delivery_id, "household_id": message.household_id,
                "organisation_id": message.organisation_id, "channel": message.channel,
                "template": message.template, "error_code": error_code,
                "provider_status": provider_status,
            })
