from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from redemption import domain
from redemption.domain import AtTheCounter

TOKYO = ZoneInfo("Asia/Tokyo")

ALL_GOOD = dict(
    household_id="h", restaurant_status="active", restaurant_region="hoshizora-ku",
    household_status="active", household_region="hoshizora-ku",
)


def counter(**changes):
    return AtTheCounter(**dict(ALL_GOOD, **changes))


def test_nothing_refuses_an_active_household_at_an_active_restaurant_of_its_region():
    assert domain.refusal(counter()) is None


@pytest.mark.parametrize("changes, reason", [
    # Every check failing at once: the card or token is named first.
    (dict(household_id=None, restaurant_status=None, household_status=None),
     "unknown_card_or_token"),
    (dict(restaurant_status="suspended", restaurant_region="umibe-shi",
          household_status="withdrawn"), "restaurant_not_active"),
    (dict(restaurant_status=None, restaurant_region=None), "restaurant_not_active"),
    (dict(restaurant_region="umibe-shi", household_status="suspended"),
     "restaurant_other_region"),
    # A region that keeps households to their own organisation's restaurants.
    (dict(restaurant_scope="own_organisation", restaurant_organisation="o2",
          household_status="suspended"), "restaurant_other_organisation"),
    (dict(household_status="suspended"), "household_not_active"),
    (dict(household_status="withdrawn"), "household_not_active"),
    # A household not known yet is not said to be elsewhere: it is simply not active.
    (dict(household_status=None, household_region=None), "household_not_active"),
])
def test_the_first_failing_check_names_the_decline(changes, reason):
    assert domain.refusal(counter(**changes)) == reason


@pytest.mark.parametrize("scope, restaurant_organisation, refused", [
    ("region", "o2", None),
    ("own_organisation", "o1", None),
    ("own_organisation", "o2", "restaurant_other_organisation"),
])
def test_a_region_may_keep_households_to_their_own_organisations_restaurants(
        scope, restaurant_organisation, refused):
    shown = counter(restaurant_scope=scope, household_organisation="o1",
                    restaurant_organisation=restaurant_organisation)

    assert domain.refusal(shown) == refused


def test_every_decline_reason_has_its_message_in_japanese_and_english():
    for reason in domain.DECLINE_REASONS:
        ja, en = domain.DECLINE_MESSAGES[reason]
        assert ja and en and ja != en


def test_no_ticket_now_is_outside_the_window_and_an_empty_one_has_nothing_left():
    assert domain.ticket_refusal(None) == "outside_validity_window"
    assert domain.ticket_refusal(0) == "nothing_left"
    assert domain.ticket_refusal(1) is None


def test_a_bill_larger_than_the_balance_uses_it_all_and_the_family_pays_the_rest():
    assert domain.split_bill(3000, 4200) == domain.Split(3000, 1200, 0)


def test_a_bill_smaller_than_the_balance_leaves_the_rest_on_the_ticket():
    assert domain.split_bill(3000, 1000) == domain.Split(1000, 0, 2000)


def test_the_answer_after_paying_shows_amounts_in_both_languages():
    message_ja, message_en = domain.applied_messages(domain.Split(3000, 1200, 0))

    assert "3,000円" in message_ja and "1,200円" in message_ja
    assert "¥3,000" in message_en and "¥1,200" in message_en


def test_every_decline_reason_has_a_message_in_japanese_and_english():
    for reason in domain.DECLINE_REASONS:
        answer = domain.declined(reason)
        assert answer["outcome"] == "declined" and answer["reason"] == reason
        assert answer["message_ja"] and answer["message_en"]


def test_the_local_day_is_the_region_s_not_utc_s():
    eight_in_the_morning_in_tokyo = datetime(2026, 2, 28, 23, 0, tzinfo=timezone.utc)

    assert domain.local_date(eight_in_the_morning_in_tokyo, "Asia/Tokyo") == date(2026, 3, 1)


def test_a_march_window_runs_from_the_first_to_the_last_local_day_of_march():
    starts = datetime(2026, 3, 1, tzinfo=TOKYO)
    ends = datetime(2026, 4, 1, tzinfo=TOKYO)

    assert domain.window_days(starts, ends, "Asia/Tokyo") == (date(2026, 3, 1),
                                                              date(2026, 3, 31))


# -- voids -----------------------------------------------------------------------------------


def test_by_default_a_redemption_can_be_voided_until_its_local_midnight():
    at = datetime(2026, 3, 10, 14, 30, tzinfo=timezone.utc)  # 23:30 in Tokyo

    deadline = domain.void_deadline(at, date(2026, 3, 10), "Asia/Tokyo", 0)

    assert deadline == datetime(2026, 3, 11, 0, 0, tzinfo=TOKYO)
    assert deadline - at == timedelta(minutes=30)


def test_the_local_day_of_a_void_window_follows_summer_time():
    los_angeles = ZoneInfo("America/Los_Angeles")
    # 8 March 2026: clocks go forward at 02:00, the day has 23 hours.
    at = datetime(2026, 3, 8, 0, 30, tzinfo=los_angeles)

    deadline = domain.void_deadline(at, date(2026, 3, 8), "America/Los_Angeles", 0)

    # As instants (Python subtracts datetimes of one zone by the wall clock).
    elapsed = deadline.astimezone(timezone.utc) - at.astimezone(timezone.utc)
    assert elapsed == timedelta(hours=22, minutes=30)


def test_a_window_in_hours_counts_from_the_redemption():
    at = datetime(2026, 3, 10, 3, 0, tzinfo=timezone.utc)

    assert domain.void_deadline(at, date(2026, 3, 10), "Asia/Tokyo", 72) == \
        at + timedelta(hours=72)


@pytest.mark.parametrize("voided, closed, late, reason", [
    (True, True, True, "already_voided"),
    (False, True, True, "statement_closed"),
    (False, False, True, "void_window_closed"),
    (False, False, False, None),
])
def test_void_refusals_come_in_order(voided, closed, late, reason):
    deadline = datetime(2026, 3, 11, 0, 0, tzinfo=TOKYO)
    now = deadline if late else deadline - timedelta(seconds=1)

    asked = domain.VoidAsked(already_voided=voided, statement_closed=closed, now=now,
                             deadline=deadline)

    assert domain.void_refusal(asked) == reason
