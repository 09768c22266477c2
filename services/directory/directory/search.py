"""Finding partner restaurants near a family: text that matches however it was typed, and the
query that answers "nearby, open now" quickly.

Text. Names are kanji, kana or both, and phones type full-width or half-width, katakana or
hiragana. Every restaurant keeps ``search_text``: its name, kana name, area and address each
folded with :func:`fold` (NFKC, then katakana to hiragana, lower case, no spaces) and joined
with a separator no folded text contains. A query is folded the same way, split on spaces,
and every word must appear: ``ﾐﾄﾞﾘ`` and ``みどり`` both find ミドリショクドウ.

Place. PostGIS is not available. The query first keeps the rows inside a bounding box around
the family (an index on region, latitude and longitude narrows it), then measures the exact
great-circle distance (haversine) of those few in SQL, drops those beyond the radius and
sorts by distance. "Open now" is a containment test on the restaurant's minutes of the week
(:mod:`directory.hours`), at the minute of the week it is now in the region's time zone.
"""

import json
import math
import unicodedata
from functools import partial

from sqlalchemy import text

from directory import hours

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_OF_LATITUDE = 111_195.0
FIELD_SEPARATOR = "|"

KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def fold(value):
    """One way of writing a text for matching: ``ﾐﾄﾞﾘ Shokudo`` → ``みどりshokudo``."""
    normal = unicodedata.normalize("NFKC", value or "")
    return "".join(normal.translate(KATAKANA_TO_HIRAGANA).casefold().split())


def search_text(name, name_kana, area, address):
    """What a restaurant's text search runs against (see the module docstring)."""
    return FIELD_SEPARATOR.join(fold(value).replace(FIELD_SEPARATOR, "")
                                for value in (name, name_kana, area, address))


def derived_fields(restaurant):
    """What the search reads, derived from a restaurant's details (a dict or a row)."""
    field = restaurant.get if isinstance(restaurant, dict) else partial(getattr, restaurant)
    return {
        "search_text": search_text(field("name"), field("name_kana"), field("area"),
                                   field("address")),
        "open_week": hours.as_multirange(field("opening_hours")),
    }


def query_words(query):
    """The folded words of a family's search, each to be found; none for a blank query."""
    spaced = unicodedata.normalize("NFKC", query or "").split()
    words = (fold(word).replace(FIELD_SEPARATOR, "") for word in spaced)
    return [word for word in words if word]


def like_pattern(word):
    """``%word%`` with LIKE's own wildcards taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def bounding_box(latitude, longitude, radius_m):
    """(south, north, west, east) in degrees, enclosing every point within ``radius_m``."""
    delta_latitude = radius_m / METRES_PER_DEGREE_OF_LATITUDE
    shrink = math.cos(math.radians(min(abs(latitude) + delta_latitude, 89.9)))
    delta_longitude = min(radius_m / (METRES_PER_DEGREE_OF_LATITUDE * shrink), 180.0)
    return (latitude - delta_latitude, latitude + delta_latitude,
            longitude - delta_longitude, longitude + delta_longitude)


def nearby_sql(words=0, flags=False, open_now=False):
    """The SQL of a nearby search, with the optional filters it needs.

    Parameters: ``region_id, status, latitude, longitude, radius_m, south, north, west, east,
    minute, limit``, ``word_0`` … for the words and ``flags`` (a JSON array) for the flags.
    The bench runs this very text straight on psycopg2 as its baseline.
    """
    filters = [f"r.search_text LIKE :word_{index}" for index in range(words)]
    if flags:
        filters.append("r.flags @> CAST(:flags AS jsonb)")
    if open_now:
        filters.append("r.open_week @> CAST(:minute AS integer)")
    extra = "".join(f"\n          AND {condition}" for condition in filters)
    return text(f"""
        SELECT * FROM (
          SELECT r.id, r.region_id, r.name, r.name_kana, r.address, r.area, r.latitude,
                 r.longitude, r.phone, r.opening_hours, r.flags,
                 r.open_week @> CAST(:minute AS integer) AS open_now,
                 2 * {EARTH_RADIUS_M} * asin(sqrt(
                   power(sin(radians(r.latitude - :latitude) / 2), 2)
                   + cos(radians(:latitude)) * cos(radians(r.latitude))
                     * power(sin(radians(r.longitude - :longitude) / 2), 2)
                 )) AS distance_m
          FROM restaurants r
          WHERE r.region_id = :region_id AND r.status = :status
            AND r.latitude BETWEEN :south AND :north
            AND r.longitude BETWEEN :west AND :east{extra}
        ) AS near
        WHERE near.distance_m <= :radius_m
        ORDER BY near.distance_m, near.id
        LIMIT :limit
    """)


def find_nearby(session, criteria, minute):
    """Active restaurants of the region near ``criteria``'s point, nearest first.

    ``criteria`` is a loaded ``NearbySearch``; ``minute`` the minute of the week it is now in
    the region. Each row carries ``distance_m`` and ``open_now``.
    """
    words = query_words(criteria["q"])
    south, north, west, east = bounding_box(criteria["latitude"], criteria["longitude"],
                                            criteria["radius_m"])
    parameters = {
        "region_id": criteria["region_id"], "status": "active",
        "latitude": criteria["latitude"], "longitude": criteria["longitude"],
        "radius_m": criteria["radius_m"], "south": south, "north": north, "west": west,
        "east": east, "minute": minute, "limit": criteria["limit"],
        "flags": json.dumps(criteria["flags"]),
        **{f"word_{index}": like_pattern(word) for index, word in enumerate(words)},
    }
    statement = nearby_sql(len(words), bool(criteria["flags"]), criteria["open_now"])
    return [dict(row) for row in session.execute(statement, parameters).mappings()]
