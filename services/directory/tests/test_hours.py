from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shokudo_common.errors import InvalidInput
from shokudo_common.validation import load

from directory import hours
from directory.schemas import OpeningHours

TOKYO = ZoneInfo("Asia/Tokyo")
LATE_NIGHT = {
    "fri": [{"opens": "17:00", "closes": "01:00"}],
    "sat": [{"opens": "11:30", "closes": "14:00"}, {"opens": "17:00", "closes": "01:00"}],
}
WEEKDAYS_AND_SUNDAY_NIGHT = {
    **{day: [{"opens": "11:00", "closes": "15:00"}] for day in ("mon", "tue", "wed", "thu")},
    "fri": [{"opens": "11:00", "closes": "15:00"}],
    "sat": [],
    "sun": [{"opens": "18:00", "closes": "02:00"}],
}


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 12, 5, 12, 0, tzinfo=TOKYO), True),    # Saturday lunch
    (datetime(2026, 12, 5, 15, 0, tzinfo=TOKYO), False),   # Saturday afternoon break
    (datetime(2026, 12, 5, 23, 30, tzinfo=TOKYO), True),   # Saturday late
    (datetime(2026, 12, 6, 0, 30, tzinfo=TOKYO), True),    # Sunday 00:30, Saturday's span
    (datetime(2026, 12, 6, 1, 0, tzinfo=TOKYO), False),    # Sunday 01:00, closed
    (datetime(2026, 12, 6, 12, 0, tzinfo=TOKYO), False),   # Sunday is a closed day
    (datetime(2026, 12, 5, 0, 30, tzinfo=TOKYO), True),    # Saturday 00:30, Friday's span
])
def test_opening_hours_follow_local_time_across_midnight(moment, expected):
    assert hours.is_open(LATE_NIGHT, moment) is expected


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 12, 7, 1, 30, tzinfo=TOKYO), True),    # Monday 01:30, Sunday's span
    (datetime(2026, 12, 7, 2, 0, tzinfo=TOKYO), False),    # Monday 02:00, closed
    (datetime(2026, 12, 6, 17, 59, tzinfo=TOKYO), False),  # Sunday before opening
])
def test_a_span_past_sunday_midnight_wraps_round_to_monday_morning(moment, expected):
    assert hours.is_open(WEEKDAYS_AND_SUNDAY_NIGHT, moment) is expected


def test_spans_become_minutes_of_the_week_for_the_database():
    assert hours.week_spans({"sat": [{"opens": "17:00", "closes": "01:00"}]}) == [(8220, 8700)]
    assert hours.as_multirange({"sun": [{"opens": "18:00", "closes": "02:00"}]}) == (
        "{[0,120),[9720,10080)}")
    assert hours.as_multirange({}) == "{}"


def test_a_span_closing_at_midnight_ends_that_day():
    assert hours.week_spans({"mon": [{"opens": "11:00", "closes": "00:00"}]}) == [(660, 1440)]


def test_hours_read_in_plain_japanese_with_days_put_together():
    assert hours.readable_ja(WEEKDAYS_AND_SUNDAY_NIGHT) == (
        "月〜金 11:00〜15:00 / 土 定休日 / 日 18:00〜翌2:00")
    assert hours.readable_ja(LATE_NIGHT) == (
        "月〜木 定休日 / 金 17:00〜翌1:00 / 土 11:30〜14:00、17:00〜翌1:00 / 日 定休日")
    assert hours.readable_ja({"mon": [{"opens": "11:00", "closes": "00:00"}],
                              "tue": [{"opens": "11:00", "closes": "00:00"}]}).startswith(
        "月・火 11:00〜24:00 / 水〜日 定休日")


def test_overlapping_spans_are_refused_on_the_day_the_later_one_starts():
    with pytest.raises(InvalidInput) as raised:
        load(OpeningHours(), {
            "mon": [{"opens": "11:00", "closes": "15:00"}, {"opens": "14:00", "closes": "20:00"}],
            "fri": [{"opens": "17:00", "closes": "02:00"}],
            "sat": [{"opens": "01:00", "closes": "03:00"}],
        })

    problems = raised.value.details["fields"]
    assert set(problems) == {"mon", "sat"}
    assert "overlap" in problems["sat"][0]


def test_a_span_that_closes_when_it_opens_lasts_24_hours():
    all_day = {day: [{"opens": "00:00", "closes": "00:00"}] for day in hours.WEEKDAYS}

    assert load(OpeningHours(), all_day) == all_day
    assert hours.week_spans(all_day) == [(day * 1440, (day + 1) * 1440) for day in range(7)]
    assert hours.is_open(all_day, datetime(2026, 12, 6, 3, 0, tzinfo=TOKYO))
    assert hours.readable_ja(all_day) == "月〜日 00:00から24時間"


def test_hours_in_the_demo_format_are_accepted_as_they_are():
    loaded = load(OpeningHours(), LATE_NIGHT)

    assert loaded["sat"] == LATE_NIGHT["sat"]
    assert loaded["sun"] == []
