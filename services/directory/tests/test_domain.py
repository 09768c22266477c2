from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shokudo_common.errors import Conflict

from directory import domain

TOKYO = ZoneInfo("Asia/Tokyo")
LATE_NIGHT = {
    "fri": [{"opens": "17:00", "closes": "01:00"}],
    "sat": [{"opens": "11:30", "closes": "14:00"}, {"opens": "17:00", "closes": "01:00"}],
}


def test_a_nominated_restaurant_is_approved_then_can_be_suspended_and_reinstated():
    assert domain.next_status("approve", domain.PENDING) == domain.ACTIVE
    assert domain.next_status("suspend", domain.ACTIVE) == domain.SUSPENDED
    assert domain.next_status("reinstate", domain.SUSPENDED) == domain.ACTIVE


def test_an_active_restaurant_cannot_be_approved_again():
    with pytest.raises(Conflict) as raised:
        domain.next_status("approve", domain.ACTIVE)
    assert raised.value.code == "restaurant_status_conflict"


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 12, 5, 12, 0, tzinfo=TOKYO), True),    # Saturday lunch
    (datetime(2026, 12, 5, 15, 0, tzinfo=TOKYO), False),   # Saturday afternoon break
    (datetime(2026, 12, 5, 23, 30, tzinfo=TOKYO), True),   # Saturday late
    (datetime(2026, 12, 6, 0, 30, tzinfo=TOKYO), True),    # Sunday 00:30, Saturday's span
    (datetime(2026, 12, 6, 1, 0, tzinfo=TOKYO), False),    # Sunday 01:00, closed
    (datetime(2026, 12, 6, 12, 0, tzinfo=TOKYO), False),   # Sunday is a closed day
])
def test_opening_hours_follow_local_time_across_midnight(moment, expected):
    assert domain.is_open(LATE_NIGHT, moment) is expected
