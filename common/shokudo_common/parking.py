"""List and replay messages a service parked after its handler failed every attempt.

    python -m shokudo_common.parking list   --db <DB_URI>
    python -m shokudo_common.parking replay --db <DB_URI> --id <N> [--amqp <AMQP_URI>]

Replaying publishes the parked payload again, straight to the handler's own queue, and marks
the row replayed. The handler's applied-events check makes a replay of an event that was in
fact applied harmless.
"""

import argparse
import json

from kombu import Connection, Exchange, Producer
from sqlalchemy import create_engine, text

from shokudo_common.db import psycopg2_uri

LIST = text(
    "SELECT id, consumer, event_type, payload->>'event_id' AS event_id, error, attempts,"
    " parked_at, replayed_at FROM parked_messages ORDER BY id"
)
ONE = text("SELECT * FROM parked_messages WHERE id = :id AND replayed_at IS NULL FOR UPDATE")
MARK = text("UPDATE parked_messages SET replayed_at = now() WHERE id = :id")


def list_parked(db_uri):
    engine = create_engine(psycopg2_uri(db_uri))
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(LIST)]
    engine.dispose()
    return rows


def replay(db_uri, amqp_uri, parked_id):
    """Send parked message ``parked_id`` back to its queue; False if none is waiting."""
    engine = create_engine(psycopg2_uri(db_uri))
    with engine.begin() as connection:
        row = connection.execute(ONE, {"id": parked_id}).first()
        if row is None:
            return False
        headers = {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {}
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as broker:
            Producer(broker).publish(
                row.payload, exchange=Exchange(""), routing_key=row.queue,
                serializer="json", headers=headers, delivery_mode=2,
            )
        connection.execute(MARK, {"id": parked_id})
    engine.dispose()
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shokudo_common.parking")
    parser.add_argument("action", choices=("list", "replay"))
    parser.add_argument("--db", required=True, help="the service's database URI")
    parser.add_argument("--amqp", default="pyamqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--id", type=int, help="the parked message to replay")
    args = parser.parse_args(argv)
    if args.action == "list":
        for row in list_parked(args.db):
            print(json.dumps(row, default=str, ensure_ascii=False))
        return 0
    if args.id is None:
        parser.error("replay needs --id")
    if not replay(args.db, args.amqp, args.id):
        print(f"no parked message {args.id} waiting for replay")
        return 1
    print(f"replayed parked message {args.id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
