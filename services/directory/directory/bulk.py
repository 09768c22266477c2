"""Many restaurants at once, for benchmarks and load tests: the directory's own checks and
derived fields, one multi-row INSERT instead of one RPC per restaurant.

Nothing is announced: restaurants written here are unknown to redemption and never take a
ticket. Use it for scratch regions only, never for a real one.
"""

import uuid

from sqlalchemy import insert

from shokudo_common.validation import load

from directory import domain, search
from directory.models import Restaurant
from directory.schemas import Nomination


def insert_restaurants(connection, nominations, status=domain.ACTIVE):
    """Check each nomination as ``nominate_restaurant`` would and insert them all; their ids."""
    schema = Nomination()  # built once: building a schema costs more than loading a row
    rows = []
    for nomination in nominations:
        details = load(schema, nomination)
        rows.append({
            **details,
            "id": str(uuid.uuid4()),
            "status": status,
            **search.derived_fields(details),
        })
    connection.execute(insert(Restaurant), rows)
    return [row["id"] for row in rows]
