"""Tickets whose window has closed: what is left on them expires, is announced, and is gone.

There is no carry-over: at the end of a ticket's window (the instant ``valid_until``, local
midnight after the last day) its balance becomes its ``expired_yen``, the balance zero, and
``ticket_expired`` goes out through the outbox, all in one transaction per batch. A timer in
every replica looks for due tickets; ``FOR UPDATE SKIP LOCKED`` hands each ticket to one of
them, and a ticket whose expiry committed is no longer due, so none expires twice.

The counter does not wait for the timer: it reads the clock after locking the ticket and
refuses a closed window by itself (see :mod:`redemption.counter`).
"""

import logging

from sqlalchemy import select

from redemption import metrics
from redemption.models import Ticket
from redemption.schemas import local_instant

log = logging.getLogger(__name__)

# One transaction and at most this many ticket_expired events at a time.
BATCH_SIZE = 500
# A pass of the timer stops after this many batches and leaves the rest to the next tick, so
# that a pass always ends (250,000 tickets at the default size).
MAX_BATCHES = 500


def expire_due_tickets(session, outbox, clock, batch_size=None):
    """Expire the tickets whose window has closed, batch by batch; how many were expired."""
    batch_size = batch_size or BATCH_SIZE
    expired = 0
    for _ in range(MAX_BATCHES):
        count = _expire_batch(session, outbox, clock.now(), batch_size)
        expired += count
        if count < batch_size:
            break
    return expired


def _expire_batch(session, outbox, now, batch_size):
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.expired_at.is_(None), Ticket.valid_until <= now)
        .order_by(Ticket.valid_until, Ticket.id)
        .limit(batch_size)
        # Tickets another replica (or a bill at the counter) holds are left for the next pass.
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()

    for ticket in tickets:
        _expire(ticket, now)
        outbox.add(session, "ticket_expired", _expired_fact(ticket))
    session.commit()

    for ticket in tickets:
        metrics.count_expired(ticket)
    if tickets:
        log.info("tickets expired", extra={
            "tickets": len(tickets), "expired_yen": sum(t.expired_yen for t in tickets),
            "regions": sorted({t.region_id for t in tickets}),
        })
    return len(tickets)


def _expire(ticket, now):
    ticket.expired_yen = ticket.balance_yen
    ticket.balance_yen = 0
    ticket.expired_at = now


def _expired_fact(ticket):
    return {
        "ticket_id": ticket.id,
        "household_id": ticket.household_id,
        "organisation_id": ticket.organisation_id,
        "region_id": ticket.region_id,
        "period": ticket.period,
        "expired_yen": ticket.expired_yen,
        "at": local_instant(ticket.expired_at, ticket.time_zone),
    }
