import pytest

from shokudo_common.errors import Conflict

from directory import domain



def test_a_nominated_restaurant_is_approved_then_can_be_suspended_and_reinstated():
    assert domain.next_status("approve", domain.PENDING) == domain.ACTIVE
    assert domain.next_status("suspend", domain.ACTIVE) == domain.SUSPENDED
    assert domain.next_status("reinstate", domain.SUSPENDED) == domain.ACTIVE


def test_an_active_restaurant_cannot_be_approved_again():
    with pytest.raises(Conflict) as raised:
        domain.next_status("approve", domain.ACTIVE)
    assert raised.value.code == "restaurant_status_conflict"
