"""The shared edge of every service: hostile text, blank text, money that is not whole yen."""

import pytest
from marshmallow import Schema, fields

from shokudo_common.errors import InvalidInput
from shokudo_common.validation import Instant, Latitude, Longitude, Text, Yen, load


class Bill(Schema):
    name = Text()
    note = Text(multiline=True, max_length=500)
    bill_yen = Yen(minimum=1)
    tags = fields.List(fields.String())


def refusal(data):
    with pytest.raises(InvalidInput) as raised:
        load(Bill(), data)
    assert raised.value.code == "invalid_input"
    return raised.value.details["fields"]


@pytest.mark.parametrize("text", [
    "山田\x00花子", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b",
])
def test_control_characters_are_refused_in_any_field(text):
    assert refusal({"name": text}) == {"name": ["must not contain control characters"]}
    assert refusal({"tags": ["ok", text]}) == {
        "tags": {1: ["must not contain control characters"]}}


def test_a_lone_surrogate_is_refused():
    assert refusal({"name": "ab\ud800"}) == {
        "name": ["must not contain lone surrogates (not Unicode text)"]}


@pytest.mark.parametrize("override", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_bidirectional_controls_are_refused(override):
    assert refusal({"name": f"ひだまり{override}食堂"}) == {
        "name": ["must not contain bidirectional control characters"]}


def test_a_hostile_unknown_field_name_is_refused_and_named_safely():
    assert refusal({"na\x00me": "x"}) == {"na\\x00me": ["must not contain control characters"]}


def test_an_unknown_field_is_refused_by_name():
    assert refusal({"name": "x", "admin": True}) == {"admin": ["Unknown field."]}


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_empty_and_whitespace_only_text_is_refused(text):
    assert "name" in refusal({"name": text})


@pytest.mark.parametrize("text", [
    "\u200b", "\ufeff", "\u2060", "\u3164", "\u3164\u3164", " \u200b\u3000", "\u115f\u1160",
    "\uffa0", "\u2800", "\u200d", "\ufe0f", "\U000e0041\U000e0042",
])
def test_text_made_only_of_invisible_characters_is_blank(text):
    assert "must not be blank" in refusal({"name": text})["name"]


@pytest.mark.parametrize("character, kind", [
    ("\u200b", "format"), ("\ufeff", "format"), ("\u2060", "format"), ("\u00ad", "format"),
    ("\U000e0041", "format"), ("\U000e007f", "format"), ("\U000e0001", "format"),
    ("\uffff", "non-character"), ("\ufdd0", "non-character"), ("\U0010fffe", "non-character"),
    ("\ue000", "private-use"), ("\U000f0000", "private-use"),
    ("\U000e0080", "unassigned"), ("\u0378", "unassigned"),
])
def test_unassigned_private_use_and_format_characters_are_refused_inside_text(character, kind):
    [message] = refusal({"name": f"山田{character}花子"})["name"]

    assert message.startswith(f"must not contain U+{ord(character):04X}")
    assert kind in message


@pytest.mark.parametrize("text", [
    "👨\u200d👩\u200d👧",     # a family: emoji joined by zero-width joiners
    "葛\U000e0100城",          # an ideographic variation selector: the name's own glyph
    "❤\ufe0f食堂",             # an emoji variation selector
    "ｶﾞｰﾃﾞﾝ食堂",
])
def test_joiners_and_variation_selectors_inside_text_pass(text):
    assert load(Bill(), {"name": text})["name"] == text


def test_text_is_one_line_unless_the_field_says_otherwise():
    assert refusal({"name": "一行目\n二行目"}) == {
        "name": ["must be one line, without line breaks or tabs"]}
    assert load(Bill(), {"note": "一行目\n二行目"}) == {"note": "一行目\n二行目"}


def test_text_is_kept_in_nfc_so_the_same_name_is_the_same_text():
    decomposed = "か\u3099とう"  # か + combining voiced mark: looks like がとう

    assert load(Bill(), {"name": decomposed})["name"] == "がとう"


@pytest.mark.parametrize("amount", [-1, 0, 1.5, 1.0, "100", True, False, 10**30, None])
def test_yen_is_a_whole_positive_number_within_bounds(amount):
    assert "bill_yen" in refusal({"bill_yen": amount})


def test_whole_yen_pass():
    assert load(Bill(), {"bill_yen": 1200}) == {"bill_yen": 1200}


def test_a_body_that_is_not_an_object_names_the_body():
    with pytest.raises(InvalidInput) as raised:
        load(Bill(), ["not", "an", "object"])
    assert raised.value.details == {"fields": {"body": ["must be a JSON object"]}}


class Window(Schema):
    since = Instant()


@pytest.mark.parametrize("moment", [
    "0296-10-03T04:41:43Z", "3311-08-11T14:20:23-17:00", "2137-12-22T18:20:09-22:50",
    "2026-03-01T00:00:00", "yesterday",
])
def test_an_instant_outside_the_years_or_offsets_in_use_is_refused(moment):
    with pytest.raises(InvalidInput) as raised:
        load(Window(), {"since": moment})
    assert set(raised.value.details["fields"]) == {"since"}


def test_an_instant_with_a_real_offset_passes():
    assert load(Window(), {"since": "2026-03-01T09:00:00+09:00"})["since"].hour == 9


class Place(Schema):
    latitude = Latitude()
    longitude = Longitude()


def test_coordinates_are_kept_to_a_centimetre_and_the_tiniest_floats_become_zero():
    assert load(Place(), {"latitude": -5e-324, "longitude": 139.767125123456}) == {
        "latitude": 0.0, "longitude": 139.7671251}


@pytest.mark.parametrize("place", [{"latitude": 90.5}, {"longitude": -180.01},
                                   {"latitude": True}, {"longitude": "east"}])
def test_coordinates_off_the_earth_or_not_numbers_are_refused(place):
    with pytest.raises(InvalidInput) as raised:
        load(Place(), place)
    assert set(raised.value.details["fields"]) == set(place)
