import math

import pytest

from directory import search


@pytest.mark.parametrize("typed", ["ミドリ", "みどり", "ﾐﾄﾞﾘ", "ＭＩＤＯＲＩ食堂", " みどり\u3000"])
def test_kana_is_folded_whatever_way_it_was_typed(typed):
    folded = search.fold(typed)

    assert "ミ" not in folded and "ﾐ" not in folded and " " not in folded
    assert folded in {"みどり", "midori食堂"}


def test_a_restaurants_text_keeps_its_fields_apart():
    text = search.search_text("みどり食堂", "ミドリショクドウ", "青葉", "星空区 青葉1-2-3")

    assert text == "みどり食堂|みどりしょくどう|青葉|星空区青葉1-2-3"


def test_query_words_are_folded_and_blank_words_dropped():
    assert search.query_words(" ｱｵﾊﾞ　食堂 | ") == ["あおば", "食堂"]
    assert search.query_words("") == []


def test_like_wildcards_in_a_query_are_taken_literally():
    assert search.like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_the_bounding_box_encloses_the_radius_in_every_direction():
    south, north, west, east = search.bounding_box(35.7, 139.7, 1000)

    # 1 km north and east of the point, by the haversine the query uses, are inside.
    assert north - 35.7 >= 1000 / (search.EARTH_RADIUS_M * math.pi / 180)
    assert east - 139.7 >= 1000 / (search.EARTH_RADIUS_M * math.pi / 180
                                   * math.cos(math.radians(35.7)))
    assert south < 35.7 < north and west < 139.7 < east
