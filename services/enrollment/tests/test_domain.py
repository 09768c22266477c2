import re
from datetime import datetime, timedelta, timezone

import pytest

from shokudo_common.errors import Conflict

from enrollment import domain

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


# -- cards -------------------------------------------------------------------------------------

def test_the_luhn_check_digit_of_the_textbook_example():
    assert domain.luhn_check_digit("7992739871") == "3"


@pytest.mark.parametrize("number, valid", [
    ("4111111111111111", True),
    ("4111111111111112", False),     # last digit mistyped
    ("4111111111111121", False),     # a digit mistyped in the middle
    ("411111111111111", False),      # 15 digits
    ("41111111111111110", False),    # 17 digits
    ("4111-1111-1111-1111", False),
    ("４１１１１１１１１１１１１１１１", False),   # full-width digits are not a card number
    (4111111111111111, False),
    (None, False),
])
def test_a_card_number_is_sixteen_digits_ending_in_its_luhn_digit(number, valid):
    assert domain.is_valid_card_number(number) is valid


def test_new_card_numbers_pass_the_check_and_never_start_with_zero():
    numbers = [domain.new_card_number() for _ in range(500)]

    assert all(domain.is_valid_card_number(number) for number in numbers)
    assert all(not number.startswith("0") for number in numbers)
    assert len(set(numbers)) == 500


# -- activation codes --------------------------------------------------------------------------

def test_an_activation_code_is_twelve_unambiguous_characters_shown_in_groups_of_four():
    code = domain.new_activation_code()

    assert len(code) == 12
    assert set(code) <= set(domain.CODE_ALPHABET)
    assert not set("01OIL") & set(domain.CODE_ALPHABET)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                        domain.format_activation_code(code))


@pytest.mark.parametrize("typed", [
    "ABCD-EFGH-JK23", "abcd-efgh-jk23", "ABCDEFGHJK23", "ABCD EFGH JK23", "ＡＢＣＤ－ＥＦＧＨ－ＪＫ２３",
])
def test_a_code_is_recognised_however_the_family_types_it(typed):
    assert domain.normalise_activation_code(typed) == "ABCDEFGHJK23"


@pytest.mark.parametrize("typed", ["ABCD-EFGH-JK2", "ABCD-EFGH-JK230", "ABCD-EFGH-JK2O", "", None])
def test_a_code_of_the_wrong_shape_is_not_recognised(typed):
    assert domain.normalise_activation_code(typed) is None


def test_a_code_is_usable_once_until_it_expires_or_is_replaced():
    expires_at = domain.activation_code_expires_at(NOW)

    assert expires_at == NOW + timedelta(days=90)
    assert domain.is_activation_code_usable(expires_at, None, None, NOW)
    assert not domain.is_activation_code_usable(expires_at, NOW, None, NOW)
    assert not domain.is_activation_code_usable(expires_at, None, NOW, NOW)
    assert not domain.is_activation_code_usable(expires_at, None, None, expires_at)


# -- lifecycle and cap -------------------------------------------------------------------------

@pytest.mark.parametrize("action, current, target", [
    ("suspend", "active", "suspended"),
    ("reinstate", "suspended", "active"),
    ("withdraw", "active", "withdrawn"),
    ("withdraw", "suspended", "withdrawn"),
])
def test_a_household_moves_between_active_suspended_and_withdrawn(action, current, target):
    assert domain.next_status(action, current) == target


@pytest.mark.parametrize("action, current", [
    ("reinstate", "active"),
    ("suspend", "suspended"),
    ("suspend", "withdrawn"),
    ("reinstate", "withdrawn"),
    ("withdraw", "withdrawn"),
])
def test_withdrawal_is_final_and_other_moves_need_the_right_status(action, current):
    with pytest.raises(Conflict) as raised:
        domain.next_status(action, current)

    assert raised.value.code == "household_status_conflict"
    assert raised.value.details == {"status": current, "action": action}


def test_the_cap_leaves_room_until_it_is_reached():
    domain.ensure_room(20, 19)

    with pytest.raises(Conflict) as raised:
        domain.ensure_room(20, 20)

    assert raised.value.code == "household_cap_reached"
    assert raised.value.details["cap"] == 20


def test_only_details_that_differ_count_as_changes():
    current = {name: None for name in domain.DETAIL_FIELDS} | {"children": 2, "phone": "03"}

    assert domain.changed_fields(current, {"children": 2, "phone": "03"}) == []
    assert domain.changed_fields(current, {"children": 3, "email": "a@example.jp"}) == [
        "email", "children",
    ]
