"""A restaurant undoing its own redemption: the yen go back to the ticket, the ledger keeps both.

The steps of one void, between the RPC edge and the database::

    claim the key ── answered before? give that answer again
    the restaurant's own redemption? (another's is not found, as an unknown one)
    share the month's statement lock ── lock the ticket ── read the clock
        ── voided already? statement closed? void window open?
    void row + balance back + ticket_voided in the outbox + the answer under the key
        ── one commit ── answer

Closing a statement takes the same lock exclusively, so a void and the close of its month
never cross: the void lands before the close (and the closed statement leaves it out) or is
refused after it. Yen given back to a ticket whose window has already closed cannot be spent
again: they are added to what the ticket left expired.
"""

import logging

from shokudo_common import idempotency
from shokudo_common.errors import Conflict, NotFound

from redemption import closing, domain, ledger, metrics
from redemption.models import Redemption
from redemption.schemas import local_instant

log = logging.getLogger(__name__)

REFUSALS = {
    domain.ALREADY_VOIDED: "this redemption has already been voided",
    domain.STATEMENT_CLOSED: "the statement of this redemption's month is closed",
    domain.VOID_WINDOW_CLOSED: "the time to void this redemption has passed",
}


def void(session, outbox, clock, request):
    """Void ``request["redemption_id"]`` for ``request["restaurant_id"]``; returns the answer.

    Raises NotFound for a redemption the restaurant did not make, Conflict with the reason's
    code when it cannot be voided; nothing is kept then, not even the key.
    """
    keyed = _claim_key(session, request)
    if keyed.answered:
        return keyed.answer

    try:
        return _void(session, outbox, clock, request, keyed)
    except (NotFound, Conflict):
        session.rollback()
        raise


def _claim_key(session, request):
    arguments = {"restaurant_id": request["restaurant_id"],
                 "redemption_id": request["redemption_id"]}
    return idempotency.claim(session, "redemption.void", request.get("idempotency_key"),
                             arguments)


def _void(session, outbox, clock, request, keyed):
    redemption = _own_redemption(session, request)
    month = domain.statement_month(redemption.local_date)

    closing.share_month(session, redemption.restaurant_id, month)
    ticket = ledger.lock_ticket(session, redemption.ticket_id)
    now = clock.now()

    reason = domain.void_refusal(domain.VoidAsked(
        already_voided=ledger.void_of(session, redemption.id) is not None,
        statement_closed=closing.is_closed(session, redemption.restaurant_id, month),
        now=now,
        deadline=_deadline(session, redemption, ticket),
    ))
    if reason:
        metrics.VOIDS_REFUSED.labels(reason).inc()
        log.info("void refused", extra={"reason": reason, "redemption_id": redemption.id,
                                        "restaurant_id": redemption.restaurant_id})
        raise Conflict(reason, REFUSALS[reason], {"redemption_id": redemption.id})

    return _apply(session, outbox, redemption, ticket, now, keyed)


def _own_redemption(session, request):
    """The redemption, if this restaurant made it; another's is as unknown as no redemption."""
    redemption = session.get(Redemption, request["redemption_id"])
    if redemption is None or redemption.restaurant_id != request["restaurant_id"]:
        raise NotFound("redemption_not_found", f"no redemption {request['redemption_id']}",
                       {"redemption_id": request["redemption_id"]})
    return redemption


def _deadline(session, redemption, ticket):
    # The local day is the ticket's, as the redemption's local date was computed in it.
    return domain.void_deadline(redemption.at, redemption.local_date, ticket.time_zone,
                                ledger.void_window_hours(session, redemption.region_id))


def _apply(session, outbox, redemption, ticket, now, keyed):
    voided = ledger.add_void(session, redemption, ticket, now)
    outbox.add(session, "ticket_voided", _voided_fact(voided, redemption, ticket))
    answer = keyed.remember(session, voided_answer(voided, redemption, ticket))
    session.commit()

    metrics.count_void(voided)
    log.info("redemption voided", extra={
        "redemption_id": redemption.id, "void_id": voided.id, "ticket_id": ticket.id,
        "restaurant_id": redemption.restaurant_id, "region_id": redemption.region_id,
        "voided_yen": voided.voided_yen, "after_expiry": ticket.expired_at is not None,
    })
    return answer


def voided_answer(voided, redemption, ticket):
    """What the restaurant sees: the yen given back and when; nothing about the household."""
    return {
        "outcome": "voided",
        "redemption_id": redemption.id,
        "void_id": voided.id,
        "voided_yen": voided.voided_yen,
        "balance_yen": voided.balance_after_yen,
        "at": local_instant(voided.at, ticket.time_zone),
    }


def _voided_fact(voided, redemption, ticket):
    return {
        "redemption_id": redemption.id,
        "void_id": voided.id,
        "ticket_id": ticket.id,
        "household_id": redemption.household_id,
        "organisation_id": redemption.organisation_id,
        "region_id": redemption.region_id,
        "restaurant_id": redemption.restaurant_id,
        "voided_yen": voided.voided_yen,
        "balance_yen": voided.balance_after_yen,
        "at": local_instant(voided.at, ticket.time_zone),
    }
