"""A bill at a partner restaurant's counter, paid (in part) by a meal ticket.

The steps of one redemption, between the RPC edge and the database::

    claim the till's idempotency key ── answered before? give that answer again
    card number's check digit / QR code's signature and expiry ── nothing looked up yet
    who holds the card / QR code, which restaurant, which household ── checks in order
    lock the household's tickets not yet closed ── QR code used before? ── read the clock
        ── one usable now? ── the one the QR code names? ── anything left? ── split the bill
    ledger line + balance + ticket_redeemed in the outbox + the answer under the key
        ── one commit ── answer

The clock that decides is read once the tickets are locked: a bill presented a second before
a window closes, whose request waited for the lock past the close, is declined as outside the
window, as the expiry that took the lock first has already announced.

Every decline is written down (restaurant, region, reason, time) and counted. A decline
changes no money, so it keeps no answer under the key: the till's retry is judged afresh.
"""

import logging

from sqlalchemy.exc import IntegrityError

from shokudo_common import idempotency

from redemption import domain, ledger, metrics
from redemption.models import Restaurant, Ticket
from redemption.qr import Presented
from redemption.schemas import local_instant

log = logging.getLogger(__name__)

IDEMPOTENCY_CONSTRAINT = "redemptions_one_per_idempotency_key"
QR_TOKEN_CONSTRAINT = "redemptions_one_per_qr_token"


def redeem(session, outbox, qr_tokens, request, clock):
    """Settle ``request`` (already validated) by ``clock``; returns the counter's answer."""
    keyed = _claim_key(session, request)
    if keyed.answered:
        return keyed.answer

    presented_at = clock.now()
    shown = _read(qr_tokens, request, presented_at)
    if shown.refusal:
        restaurant = session.get(Restaurant, request["restaurant_id"])
        return _decline(session, request, restaurant, shown.refusal, presented_at)

    household_id, household, restaurant = ledger.at_the_counter(
        session, request["restaurant_id"], card_number=request.get("card_number"),
        household_id=shown.household_id)

    reason = domain.refusal(_at_the_counter(household_id, restaurant, household))
    if reason:
        return _decline(session, request, restaurant, reason, presented_at)

    tickets = ledger.lock_open_tickets(session, household_id, presented_at)
    now = clock.now()
    ticket = domain.usable_at(tickets, now)
    reason = _ticket_refusal(session, shown, ticket)
    if reason:
        return _decline(session, request, restaurant, reason, now)

    return _apply(session, outbox, request, ticket, restaurant, now, keyed, shown.jti)


def _claim_key(session, request):
    """The till's key, kept per restaurant: the request names the restaurant that sends it,
    and the gateway lets a restaurant send only its own redemptions."""
    key = request.get("idempotency_key")
    bill = {name: value for name, value in request.items() if name != "idempotency_key"}
    scoped_key = f"restaurant:{request['restaurant_id']}:{key}" if key else None
    return idempotency.claim(session, "redemption.redeem", scoped_key, bill)


def _read(qr_tokens, request, now):
    """What the card or QR code says before anything is looked up: a mistyped card number,
    a QR code that is not ours or has expired is refused here."""
    if "card_number" in request:
        good = domain.card_number_ok(request["card_number"])
        return Presented(refusal=None if good else domain.CARD_NUMBER_INVALID)
    return qr_tokens.read(request["qr_token"], now)


def _ticket_refusal(session, shown, ticket):
    """Why ``ticket`` (usable now, or None) cannot pay this bill, or None.

    Asked with the household's tickets locked: of two bills shown with one QR code at once,
    the second sees the first one's redemption, and with it the code's jti, once committed.
    """
    if shown.jti and ledger.qr_token_used(session, shown.jti):
        return domain.QR_TOKEN_ALREADY_USED
    if ticket is not None and shown.jti:
        wrong = domain.qr_ticket_refusal(ticket, shown.ticket_id, shown.period)
        if wrong:
            return wrong
    return domain.ticket_refusal(ticket.balance_yen if ticket else None)


def _at_the_counter(household_id, restaurant, household):
    return domain.AtTheCounter(
        household_id=household_id,
        restaurant_status=restaurant.status if restaurant else None,
        restaurant_region=restaurant.region_id if restaurant else None,
        household_status=household.status if household else None,
        household_region=household.region_id if household else None,
        restaurant_organisation=restaurant.organisation_id if restaurant else None,
        household_organisation=household.organisation_id if household else None,
        restaurant_scope=(restaurant.restaurant_scope if restaurant
                          else domain.ANY_RESTAURANT_OF_REGION),
    )


def _apply(session, outbox, request, ticket, restaurant, now, keyed, qr_jti):
    split = domain.split_bill(ticket.balance_yen, request["bill_yen"])

    try:
        redemption = ledger.add_redemption(
            session, ticket, restaurant, request["bill_yen"], split, now,
            request.get("idempotency_key"), qr_jti,
        )
        outbox.add(session, "ticket_redeemed", _redeemed_fact(redemption, ticket))
        answer = keyed.remember(session, applied_answer(redemption, ticket))
        session.commit()
    except IntegrityError as error:
        # The ledger's own unique keys, last guards: the QR code's jti (the check under the
        # ticket's lock comes first), and a key a till used before keys were claimed in
        # idempotent_requests.
        session.rollback()
        constraint = _constraint_of(error)
        if constraint == QR_TOKEN_CONSTRAINT:
            return _decline(session, request, restaurant, domain.QR_TOKEN_ALREADY_USED, now)
        if constraint != IDEMPOTENCY_CONSTRAINT:
            raise
        return _earlier_answer(session, request)

    metrics.count_applied(ticket.region_id, split)
    log.info("ticket redeemed", extra={
        "redemption_id": redemption.id, "ticket_id": ticket.id,
        "restaurant_id": restaurant.id, "region_id": ticket.region_id,
        "applied_yen": split.applied_yen, "pay_at_counter_yen": split.pay_at_counter_yen,
    })
    return answer


def _decline(session, request, restaurant, reason, now):
    region_id = restaurant.region_id if restaurant else None
    # Let the key go (and the ticket's lock): nothing was paid, a retry may be applied.
    session.rollback()
    ledger.add_decline(session, request["restaurant_id"], region_id, reason, now)
    session.commit()

    metrics.count_declined(reason, region_id)
    log.info("redemption declined", extra={
        "reason": reason, "restaurant_id": request["restaurant_id"], "region_id": region_id,
    })
    return domain.declined(reason)


def _earlier_answer(session, request):
    key = request.get("idempotency_key")
    redemption = ledger.redemption_by_key(session, request["restaurant_id"], key)
    if redemption is None:
        return None
    return applied_answer(redemption, session.get(Ticket, redemption.ticket_id))


def applied_answer(redemption, ticket):
    """What the counter sees after a ticket paid: amounts and validity, nothing personal."""
    split = domain.Split(redemption.applied_yen, redemption.pay_at_counter_yen,
                         redemption.balance_after_yen)
    message_ja, message_en = domain.applied_messages(split)
    return {
        "outcome": "applied",
        "redemption_id": redemption.id,
        "bill_yen": redemption.bill_yen,
        "applied_yen": split.applied_yen,
        "pay_at_counter_yen": split.pay_at_counter_yen,
        "balance_yen": split.balance_yen,
        "valid_until": local_instant(ticket.valid_until, ticket.time_zone),
        "message_ja": message_ja,
        "message_en": message_en,
    }


def _redeemed_fact(redemption, ticket):
    return {
        "redemption_id": redemption.id,
        "ticket_id": ticket.id,
        "household_id": redemption.household_id,
        "organisation_id": redemption.organisation_id,
        "region_id": redemption.region_id,
        "restaurant_id": redemption.restaurant_id,
        "applied_yen": redemption.applied_yen,
        "pay_at_counter_yen": redemption.pay_at_counter_yen,
        "balance_yen": redemption.balance_after_yen,
        "valid_until": local_instant(ticket.valid_until, ticket.time_zone),
        "at": local_instant(redemption.at, ticket.time_zone),
        "local_date": redemption.local_date.isoformat(),
    }


def _constraint_of(error):
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "constraint_name", None)
