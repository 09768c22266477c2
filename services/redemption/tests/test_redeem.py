"""Redeeming at the counter against the real database: windows, splits, declines, races."""

import threading
import uuid
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import jwt
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from shokudo_common.errors import Conflict, InvalidInput

from redemption.models import Decline, Redemption, Ticket
from redemption.qr import QrTokenSigner

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"  # the world's region (conftest)


def new_id():
    return str(uuid.uuid4())


def bill(restaurant_id, bill_yen, **way_to_pay):
    return {"restaurant_id": restaurant_id, "bill_yen": bill_yen, **way_to_pay}


@pytest.fixture
def restaurant(world):
    return world.restaurant()


# -- the validity window, in Tokyo time ----------------------------------------------------


def test_a_february_ticket_works_at_eight_on_the_first_of_march_in_tokyo(
        service, world, restaurant, clock):
    _, card, _ = world.family_with_card()
    clock.set(datetime(2026, 3, 1, 8, 0, tzinfo=TOKYO))  # still 28 February in UTC

    answer = service.redeem(bill(restaurant, 800, card_number=card))

    assert answer["outcome"] == "applied"
    assert answer["applied_yen"] == 800
    assert answer["valid_until"] == "2026-04-01T00:00:00+09:00"


@pytest.mark.parametrize("moment", [
    datetime(2026, 4, 1, 0, 30, tzinfo=TOKYO),   # still 31 March in UTC, but April in Tokyo
    datetime(2026, 2, 25, 12, 0, tzinfo=TOKYO),  # issued on the 20th, not usable before March
])
def test_a_february_ticket_is_refused_outside_march_in_tokyo(
        service, world, restaurant, clock, moment):
    _, card, _ = world.family_with_card()
    clock.set(moment)

    answer = service.redeem(bill(restaurant, 800, card_number=card))

    assert answer["outcome"] == "declined"
    assert answer["reason"] == "outside_validity_window"


# -- splitting the bill --------------------------------------------------------------------


def test_a_bill_above_the_balance_uses_it_all_and_the_family_pays_the_difference(
        service, world, restaurant, session):
    _, card, ticket_id = world.family_with_card()

    answer = service.redeem(bill(restaurant, 4200, card_number=card))

    assert (answer["applied_yen"], answer["pay_at_counter_yen"], answer["balance_yen"]) == \
        (3000, 1200, 0)
    assert session.get(Ticket, ticket_id).balance_yen == 0


def test_a_bill_below_the_balance_leaves_the_rest_for_later_in_the_month(
        service, world, restaurant, session):
    _, card, ticket_id = world.family_with_card()

    answer = service.redeem(bill(restaurant, 1000, card_number=card))

    assert (answer["applied_yen"], answer["pay_at_counter_yen"], answer["balance_yen"]) == \
        (1000, 0, 2000)
    assert session.get(Ticket, ticket_id).balance_yen == 2000
    assert "2,000円" in answer["message_ja"] and "¥2,000" in answer["message_en"]


def test_the_ledger_line_holds_the_bill_the_split_and_the_local_date(
        service, world, restaurant, session, clock):
    household_id, card, ticket_id = world.family_with_card()
    clock.set(datetime(2026, 3, 1, 8, 0, tzinfo=TOKYO))

    answer = service.redeem(bill(restaurant, 4200, card_number=card))

    line = session.get(Redemption, answer["redemption_id"])
    assert (line.ticket_id, line.household_id, line.restaurant_id) == \
        (ticket_id, household_id, restaurant)
    assert (line.bill_yen, line.applied_yen, line.pay_at_counter_yen, line.balance_after_yen) \
        == (4200, 3000, 1200, 0)
    assert line.local_date.isoformat() == "2026-03-01"


def test_a_redemption_is_announced_through_the_outbox_without_personal_data(
        service, world, restaurant, database):
    household_id, card, _ = world.family_with_card()

    answer = service.redeem(bill(restaurant, 1000, card_number=card))

    [fact] = database.outbox_events("ticket_redeemed")
    assert fact["redemption_id"] == answer["redemption_id"]
    assert fact["household_id"] == household_id
    assert (fact["region_id"], fact["restaurant_id"]) == (REGION, restaurant)
    assert (fact["applied_yen"], fact["balance_yen"]) == (1000, 2000)
    assert fact["valid_until"] == "2026-04-01T00:00:00+09:00"
    assert fact["at"].endswith("+09:00") and fact["event_id"]
    assert card not in str(fact)


def test_a_qr_code_from_the_app_draws_on_the_same_ticket_as_the_card(
        service, world, restaurant, session):
    household_id, card, ticket_id = world.family_with_card()
    qr = service.issue_qr_token(household_id)

    by_qr = service.redeem(bill(restaurant, 1000, qr_token=qr["token"]))
    by_card = service.redeem(bill(restaurant, 500, card_number=card))

    assert (by_qr["balance_yen"], by_card["balance_yen"]) == (2000, 1500)
    assert session.get(Ticket, ticket_id).balance_yen == 1500


# -- every decline, in its order -----------------------------------------------------------


def declined(answer, reason):
    assert answer["outcome"] == "declined", answer
    assert answer["reason"] == reason
    assert answer["message_ja"] and answer["message_en"]
    assert set(answer) == {"outcome", "reason", "message_ja", "message_en"}
    return True


def test_an_unknown_card_is_declined(service, world, restaurant):
    world.family_with_card()

    answer = service.redeem(bill(restaurant, 1000, card_number=world.unknown_card()))

    assert declined(answer, "unknown_card_or_token")


def test_a_blocked_card_is_declined_though_the_ticket_is_still_good(service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    world.deliver("on_card_blocked", {"household_id": household_id, "card_number": card})

    assert declined(service.redeem(bill(restaurant, 1000, card_number=card)),
                    "unknown_card_or_token")


def test_a_card_number_with_a_wrong_check_digit_is_declined_before_any_lookup(
        service, world, restaurant, session):
    household_id, card, ticket_id = world.family_with_card()
    misread = card[:-1] + str((int(card[-1]) + 1) % 10)
    # Even a number the projection holds is not looked up once its check digit fails.
    world.deliver("on_card_issued", {"household_id": household_id, "region_id": REGION,
                                     "card_number": misread})

    labels = {"reason": "card_number_invalid", "region_id": REGION}
    counted = REGISTRY.get_sample_value("shokudo_redemptions_declined_total", labels) or 0

    assert declined(service.redeem(bill(restaurant, 1000, card_number=misread)),
                    "card_number_invalid")
    assert session.get(Ticket, ticket_id).balance_yen == 3000
    assert REGISTRY.get_sample_value("shokudo_redemptions_declined_total", labels) == \
        counted + 1
    [decline] = session.scalars(select(Decline)).all()
    assert (decline.reason, decline.region_id) == ("card_number_invalid", REGION)


def test_an_expired_qr_code_is_declined_as_expired(service, world, restaurant, clock):
    household_id, _, _ = world.family_with_card()
    old = service.issue_qr_token(household_id)["token"]
    clock.set(clock.moment.replace(minute=2))  # 12:02, two minutes after issue

    assert declined(service.redeem(bill(restaurant, 1000, qr_token=old)), "qr_token_expired")


def test_a_forged_tampered_or_garbled_qr_code_is_declined_as_invalid(
        service, world, restaurant, clock, signer, session):
    household_id, _, ticket_id = world.family_with_card()
    ours = service.issue_qr_token(household_id)["token"]
    forged = QrTokenSigner("not-our-secret-but-long-enough-too").issue(
        household_id, session.get(Ticket, ticket_id), clock.now())[0]
    header, _, signature = ours.split(".")
    claims = signer.read(ours, clock.now())
    richer = jwt.encode({"typ": "qr", "sub": household_id, "per": claims.period,
                         "tkt": claims.ticket_id, "jti": "f" * 32, "exp": 2_000_000_000},
                        "a-secret-that-is-not-ours-at-all!", algorithm="HS256").split(".")[1]

    for token in (forged, f"{header}.{richer}.{signature}", "not-a-token"):
        assert declined(service.redeem(bill(restaurant, 1000, qr_token=token)),
                        "qr_token_invalid")
    assert session.get(Ticket, ticket_id).balance_yen == 3000


def test_a_qr_code_naming_another_household_s_ticket_is_declined(
        service, world, restaurant, clock, signer, session):
    household_id, _, _ = world.family_with_card()
    _, _, neighbours_ticket = world.family_with_card()
    token, _ = signer.issue(household_id, session.get(Ticket, neighbours_ticket), clock.now())

    assert declined(service.redeem(bill(restaurant, 1000, qr_token=token)),
                    "qr_token_wrong_household")
    assert session.get(Ticket, neighbours_ticket).balance_yen == 3000


def test_a_qr_code_of_a_ticket_that_is_no_longer_current_is_declined(
        service, world, restaurant, clock, signer):
    household_id, _, ticket_id = world.family_with_card()
    last_month = SimpleNamespace(id=new_id(), period="2026-01")
    stale, _ = signer.issue(household_id, last_month, clock.now())
    wrong_period, _ = signer.issue(household_id, SimpleNamespace(id=ticket_id, period="2026-01"),
                                   clock.now())

    for token in (stale, wrong_period):
        assert declined(service.redeem(bill(restaurant, 1000, qr_token=token)),
                        "qr_token_wrong_household")


def test_a_qr_code_pays_one_bill_and_a_screenshot_shown_again_is_declined(
        service, world, restaurant, session):
    household_id, _, ticket_id = world.family_with_card()
    token = service.issue_qr_token(household_id)["token"]

    first = service.redeem(bill(restaurant, 1000, qr_token=token))
    again = service.redeem(bill(restaurant, 500, qr_token=token))

    assert first["outcome"] == "applied"
    assert declined(again, "qr_token_already_used")
    assert session.get(Ticket, ticket_id).balance_yen == 2000
    assert session.scalar(select(Redemption.qr_jti)) is not None


def test_a_qr_code_that_paid_a_bill_shown_again_after_it_expired_is_declined_as_expired(
        service, world, restaurant, clock, session):
    """A screenshot of a used code, shown later: the counter hears the code is too old."""
    household_id, _, ticket_id = world.family_with_card()
    token = service.issue_qr_token(household_id)["token"]
    assert service.redeem(bill(restaurant, 1000, qr_token=token))["outcome"] == "applied"

    clock.set(clock.moment.replace(minute=2))  # 12:02, two minutes after issue
    again = service.redeem(bill(restaurant, 500, qr_token=token))

    assert declined(again, "qr_token_expired")
    assert session.get(Ticket, ticket_id).balance_yen == 2000


def test_a_till_retrying_with_its_key_gets_its_answer_not_a_used_code(service, world, restaurant):
    household_id, _, _ = world.family_with_card()
    request = bill(restaurant, 1000, qr_token=service.issue_qr_token(household_id)["token"],
                   idempotency_key="till-3-0007")

    assert service.redeem(request) == service.redeem(request)


def test_one_qr_code_shown_at_two_counters_at_once_pays_exactly_once(
        database, make_service, world, restaurant, session):
    household_id, _, ticket_id = world.family_with_card()
    other_counter = world.restaurant()
    token = world.service.issue_qr_token(household_id)["token"]

    answers = at_once(database, make_service, [bill(restaurant, 1000, qr_token=token),
                                               bill(other_counter, 700, qr_token=token)])

    assert sorted(answer["outcome"] for answer in answers) == ["applied", "declined"]
    assert [answer["reason"] for answer in answers if answer["outcome"] == "declined"] == \
        ["qr_token_already_used"]
    session.expire_all()
    assert session.scalar(select(func.count(Redemption.id))) == 1
    assert session.get(Ticket, ticket_id).balance_yen in (2000, 2300)


def test_a_household_without_a_ticket_gets_no_qr_code(service, world):
    with pytest.raises(Conflict) as refused:
        service.issue_qr_token(world.household())

    assert refused.value.code == "no_ticket"


def test_a_suspended_or_unknown_restaurant_declines(service, world):
    _, card, _ = world.family_with_card()
    suspended = world.restaurant(status="suspended")

    assert declined(service.redeem(bill(suspended, 1000, card_number=card)),
                    "restaurant_not_active")
    assert declined(service.redeem(bill("00000000-0000-4000-8000-000000000000", 1000,
                                        card_number=card)), "restaurant_not_active")


def test_a_restaurant_of_another_region_declines(service, world):
    _, card, _ = world.family_with_card()
    elsewhere = world.restaurant(region_id="umibe-shi")

    assert declined(service.redeem(bill(elsewhere, 1000, card_number=card)),
                    "restaurant_other_region")


def test_a_region_kept_to_own_organisations_declines_another_organisations_restaurant(
        service, world, session):
    ours, theirs = new_id(), new_id()
    household_id = world.household(organisation_id=ours)
    card = world.card(household_id)
    world.tickets([household_id])
    own_restaurant = world.restaurant(organisation_id=ours)
    other_restaurant = world.restaurant(organisation_id=theirs)

    # By default any partner restaurant of the region takes the ticket.
    assert service.redeem(bill(other_restaurant, 500, card_number=card))["outcome"] == "applied"

    world.program(restaurant_scope="own_organisation")
    answer = service.redeem(bill(other_restaurant, 500, card_number=card))
    assert declined(answer, "restaurant_other_organisation")
    assert "支援団体" in answer["message_ja"]
    assert service.redeem(bill(own_restaurant, 500, card_number=card))["balance_yen"] == 2000


@pytest.mark.parametrize("event", ["on_household_suspended", "on_household_withdrawn"])
def test_a_suspended_or_withdrawn_household_is_declined(service, world, restaurant, event):
    household_id, card, _ = world.family_with_card()
    status = "suspended" if event == "on_household_suspended" else "withdrawn"
    world.deliver(event, world.household_fact(household_id, REGION, "o", status, version=2))

    assert declined(service.redeem(bill(restaurant, 1000, card_number=card)),
                    "household_not_active")


def test_a_reinstated_household_can_eat_again(service, world, restaurant):
    household_id, card, _ = world.family_with_card()
    world.deliver("on_household_suspended", world.household_fact(household_id, REGION, "o",
                                                                 "suspended", version=2))
    world.deliver("on_household_reinstated", world.household_fact(household_id, REGION, "o",
                                                                  "active", version=3))

    assert service.redeem(bill(restaurant, 1000, card_number=card))["outcome"] == "applied"


def test_a_household_without_a_ticket_for_now_is_outside_the_window(service, world, restaurant):
    household_id = world.household()
    card = world.card(household_id)

    assert declined(service.redeem(bill(restaurant, 1000, card_number=card)),
                    "outside_validity_window")


def test_an_empty_ticket_has_nothing_left_and_takes_nothing(
        service, world, restaurant, session):
    _, card, _ = world.family_with_card()
    service.redeem(bill(restaurant, 3000, card_number=card))

    answer = service.redeem(bill(restaurant, 500, card_number=card))

    assert declined(answer, "nothing_left")
    assert session.scalar(select(func.count(Redemption.id))) == 1


def test_declines_are_recorded_without_the_household_and_counted_by_reason(
        service, world, restaurant, session):
    def declined_count():
        return REGISTRY.get_sample_value("shokudo_redemptions_declined_total",
                                         {"reason": "unknown_card_or_token",
                                          "region_id": REGION}) or 0

    before = declined_count()

    service.redeem(bill(restaurant, 1000, card_number=world.unknown_card()))

    [decline] = session.scalars(select(Decline)).all()
    assert (decline.restaurant_id, decline.region_id, decline.reason) == \
        (restaurant, REGION, "unknown_card_or_token")
    assert not hasattr(decline, "household_id")
    assert declined_count() == before + 1


def test_redeemed_and_counter_paid_yen_are_counted_by_region(service, world, restaurant):
    _, card, _ = world.family_with_card()

    def sample(name):
        return REGISTRY.get_sample_value(name, {"region_id": REGION}) or 0

    redeemed = sample("shokudo_redeemed_yen_total")
    paid = sample("shokudo_paid_by_families_yen_total")

    service.redeem(bill(restaurant, 4200, card_number=card))

    assert sample("shokudo_redeemed_yen_total") == redeemed + 3000
    assert sample("shokudo_paid_by_families_yen_total") == paid + 1200


# -- retries and races ---------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_pays_once_and_answers_the_same(
        service, world, restaurant, session, clock):
    _, card, ticket_id = world.family_with_card()
    request = bill(restaurant, 1000, card_number=card, idempotency_key="till-7-0042")

    first = service.redeem(request)
    clock.set(clock.moment.replace(hour=13))
    again = service.redeem(request)

    assert again == first
    assert session.get(Ticket, ticket_id).balance_yen == 2000
    assert session.scalar(select(func.count(Redemption.id))) == 1


def at_once(database, make_service, requests):
    """Each request from its own thread, session and worker, all released together."""
    start_together = threading.Barrier(len(requests))
    answers = []

    def counter_till(request):
        till_session = database.make_session()
        try:
            till = make_service(till_session)
            start_together.wait()
            answers.append(till.redeem(request))
        finally:
            till_session.close()

    tills = [threading.Thread(target=counter_till, args=(request,)) for request in requests]
    for till in tills:
        till.start()
    for till in tills:
        till.join()
    return answers


def test_concurrent_bills_on_one_ticket_never_take_more_than_its_balance(
        database, make_service, world, restaurant, session):
    _, card, ticket_id = world.family_with_card()
    attempts = 10

    answers = at_once(database, make_service,
                      [bill(restaurant, 700, card_number=card)] * attempts)

    applied = [answer for answer in answers if answer["outcome"] == "applied"]
    assert len(answers) == attempts
    assert sum(answer["applied_yen"] for answer in applied) == 3000
    assert sorted(answer["applied_yen"] for answer in applied) == [200, 700, 700, 700, 700]
    assert {answer["reason"] for answer in answers if answer["outcome"] == "declined"} == \
        {"nothing_left"}
    session.expire_all()
    assert session.get(Ticket, ticket_id).balance_yen == 0
    assert session.scalar(select(func.sum(Redemption.applied_yen))) == 3000


def test_the_same_request_sent_twice_at_once_pays_once(
        database, make_service, world, restaurant, session):
    _, card, ticket_id = world.family_with_card()
    request = bill(restaurant, 1000, card_number=card, idempotency_key="till-7-0043")

    first, second = at_once(database, make_service, [request, request])

    assert first == second and first["outcome"] == "applied"
    session.expire_all()
    assert session.get(Ticket, ticket_id).balance_yen == 2000
    assert session.scalar(select(func.count(Redemption.id))) == 1


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("changes, field", [
    ({"bill_yen": 1200.5}, "bill_yen"),
    ({"bill_yen": -100}, "bill_yen"),
    ({"bill_yen": 0}, "bill_yen"),
    ({"bill_yen": "1200"}, "bill_yen"),
    ({"bill_yen": 1_000_001}, "bill_yen"),
    ({"qr_token": "a.b.c"}, "qr_token"),  # next to the card: both given
    ({"card_number": "1234"}, "card_number"),
    ({"restaurant_id": "shop-1"}, "restaurant_id"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        service, world, restaurant, session, database, changes, field):
    _, card, ticket_id = world.family_with_card()

    with pytest.raises(InvalidInput) as raised:
        service.redeem(dict(bill(restaurant, 1200, card_number=card), **changes))

    assert field in raised.value.details["fields"]
    assert session.get(Ticket, ticket_id).balance_yen == 3000
    assert database.outbox_events() == []
    assert session.scalars(select(Decline)).all() == []


def test_neither_card_nor_qr_code_names_both(service, restaurant):
    with pytest.raises(InvalidInput) as raised:
        service.redeem({"restaurant_id": restaurant, "bill_yen": 1000})

    assert set(raised.value.details["fields"]) == {"card_number", "qr_token"}
