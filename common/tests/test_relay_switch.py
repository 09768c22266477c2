"""The operators' switch that pauses the outbox relay: read strictly, on unless said off."""

import pytest
from nameko.exceptions import ConfigurationError

from shokudo_common.outbox import relay_switch


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), ("true", True), ("False", False), (" off ", False),
])
def test_the_switch_reads_booleans_and_their_usual_spellings(value, expected):
    assert relay_switch({"OUTBOX_RELAY_ENABLED": value}) is expected


def test_the_relay_is_on_when_nothing_is_said():
    assert relay_switch({}) is True


def test_a_value_that_is_neither_on_nor_off_stops_the_service_at_start():
    with pytest.raises(ConfigurationError):
        relay_switch({"OUTBOX_RELAY_ENABLED": "perhaps"})
