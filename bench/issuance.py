"""Issuing a month's tickets to 100,000 households of one region, against a raw bulk insert.

    .venv/bin/python -m bench.issuance          # on a bench stack of its own (bench.platform)

1. A region's program, then its roster: ``BENCH_ROSTER_FACTS`` (2,000) households announced as
   enrollment's ``household_enrolled`` facts on the broker, timed until issuance's roster
   counts them (the intake rate, measured on its own); the rest written straight into
   issuance's roster table with COPY, so that the set-up of 100,000 takes seconds, not minutes.
2. The raw baseline, on the same machine and the same database server: the same number of
   grant rows and ticket rows COPYed, each set in one transaction, into scratch copies of
   issuance's ``grants`` and redemption's ``tickets`` tables (same columns, indexes and
   constraints), then dropped.
3. The trigger: the operator's ``POST /v1/regions/<r>/issuance-runs`` through the gateway, and
   from then the gateway's accounts route polled until redemption holds every ticket. The
   accounts must balance at the end.

Targets (issue 6): trigger to every grant redeemable within 15 s and within 15x the raw insert.
"""

import io
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange

from shokudo_common.periods import Period, validity_window

from bench.platform import (
    database, figure, heading, one_row, running_platform, scalar, signed_in, verdict, wait_until,
)

REGION = "bench-issuance"
TIME_ZONE = "Asia/Tokyo"
TARGET_SECONDS = 15.0
TARGET_RATIO = 15.0

GRANT_COLUMNS = ("id", "run_id", "household_id", "organisation_id", "region_id", "period",
                 "amount_yen")
TICKET_COLUMNS = ("id", "household_id", "organisation_id", "region_id", "period", "amount_yen",
                  "balance_yen", "time_zone", "valid_from", "valid_until", "run_id")


def households():
    return int(os.environ.get("BENCH_HOUSEHOLDS", "100000"))


def roster_facts():
    return int(os.environ.get("BENCH_ROSTER_FACTS", "2000"))


def period_to_issue():
    """Last month in the region's zone: the period whose tickets are usable today."""
    today = datetime.now(ZoneInfo(TIME_ZONE))
    if today.month == 1:
        return Period(today.year - 1, 12)
    return Period(today.year, today.month - 1)


# -- the roster --------------------------------------------------------------------------

def enrolled_facts(count, organisation_id):
    enrolled_at = datetime.now(timezone.utc).isoformat()
    return [{
        "event_id": str(uuid.uuid4()), "household_id": str(uuid.uuid4()),
        "region_id": REGION, "organisation_id": organisation_id, "channel": "card",
        "language": "ja", "status": "active", "enrolled_at": enrolled_at, "version": 1,
    } for _ in range(count)]


def publish_as_enrollment(amqp_uri, facts):
    """Publish the facts as enrollment's outbox relay does: persistent, confirmed."""
    exchange = get_event_exchange("enrollment", {})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection)
        for fact in facts:
            producer.publish(fact, exchange=exchange, routing_key="household_enrolled",
                             serializer="json", delivery_mode=2, declare=[exchange])


def roster_by_facts(stack, operator, count, organisation_id):
    """Seconds from the first fact published to issuance's roster counting them all."""
    facts = enrolled_facts(count, organisation_id)
    started = time.monotonic()
    publish_as_enrollment(stack.amqp_uri, facts)
    published = time.monotonic() - started
    wait_until(lambda: roster_count(operator) >= count, timeout=600, interval=0.2,
               what="issuance's roster taking in the facts")
    return published, time.monotonic() - started


def roster_by_copy(stack, count, organisation_id):
    """The rest of the roster written straight into issuance's table: set-up, not measured."""
    now = datetime.now(timezone.utc).isoformat()
    lines = (f"{uuid.uuid4()}\t{REGION}\t{organisation_id}\tactive\t1\t{now}\n"
             for _ in range(count))
    copy_rows(stack, "issuance", "roster",
              ("household_id", "region_id", "organisation_id", "status", "version",
               "enrolled_at"), "".join(lines))


def roster_count(operator):
    return operator.get(f"/v1/regions/{REGION}/roster-count")["count"]


def redemption_caught_up(stack, count):
    """Redemption has applied every household fact published (its projection of households)."""
    return scalar(stack, "redemption",
                  "SELECT count(*) FROM households WHERE region_id = :region",
                  region=REGION) >= count


# -- the raw baseline --------------------------------------------------------------------

def copy_rows(stack, service, table, columns, tab_separated):
    """COPY the rows into ``table`` of ``service``'s database in one transaction."""
    engine = database(stack, service)
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(tab_separated))
        connection.commit()
    finally:
        connection.close()
        engine.dispose()


def execute(stack, service, sql):
    engine = database(stack, service)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    finally:
        engine.dispose()


def raw_insert(stack, count, period):
    """Seconds to COPY ``count`` grant rows and as many ticket rows into scratch tables shaped
    as issuance's grants and redemption's tickets; the rows are built before the clock starts.
    """
    window = validity_window(period, TIME_ZONE)
    run_id, organisation_id = str(uuid.uuid4()), str(uuid.uuid4())
    grants, tickets = [], []
    for _ in range(count):
        grant_id, household_id = uuid.uuid4(), uuid.uuid4()
        shared = f"{household_id}\t{organisation_id}\t{REGION}\t{period}\t3000"
        grants.append(f"{grant_id}\t{run_id}\t{shared}\n")
        tickets.append(f"{grant_id}\t{shared}\t3000\t{TIME_ZONE}\t{window.starts_at.isoformat()}"
                       f"\t{window.ends_at.isoformat()}\t{run_id}\n")
    grant_text, ticket_text = "".join(grants), "".join(tickets)

    # The grants' foreign key to runs is not copied (LIKE copies no foreign keys): the raw
    # insert is the floor, the platform checks more.
    execute(stack, "issuance", "CREATE TABLE bench_grants (LIKE grants INCLUDING ALL)")
    execute(stack, "redemption", "CREATE TABLE bench_tickets (LIKE tickets INCLUDING ALL)")
    try:
        started = time.monotonic()
        copy_rows(stack, "issuance", "bench_grants", GRANT_COLUMNS, grant_text)
        copy_rows(stack, "redemption", "bench_tickets", TICKET_COLUMNS, ticket_text)
        return time.monotonic() - started
    finally:
        execute(stack, "issuance", "DROP TABLE bench_grants")
        execute(stack, "redemption", "DROP TABLE bench_tickets")


# -- the run through the platform -------------------------------------------------------

def accounts(operator, period):
    """The accounts as the operator reads them; None while a service is too busy to answer
    within the gateway's RPC timeout (the poll asks again)."""
    answer = operator.request("GET", f"/v1/regions/{REGION}/accounts/{period}", expect=None)
    return answer.json() if answer.status_code == 200 else None


def issue_through_the_gateway(operator, period, count):
    """(seconds until the trigger answered, its status, seconds until every ticket is at
    redemption, the accounts at that moment)."""
    started = time.monotonic()
    answer = operator.request("POST", f"/v1/regions/{REGION}/issuance-runs",
                              expect=None, json={"period": str(period)})
    answered = time.monotonic() - started

    def every_ticket_there():
        books = accounts(operator, period)
        return books if books and books["redemption"]["tickets"] >= count else None

    books = wait_until(every_ticket_there, timeout=900, interval=0.2,
                       what="redemption holding every ticket")
    return answered, answer.status_code, time.monotonic() - started, books


def where_the_time_went(stack, period):
    """(seconds from the run's opening to its last batch of grants, seconds from then to
    redemption's last ticket), from the rows' own timestamps (one database server, one clock;
    a row's created_at is the start of the transaction that wrote it)."""
    started, last_grant = one_row(
        stack, "issuance", "SELECT runs.started_at, max(grants.created_at) FROM runs"
        " JOIN grants ON grants.run_id = runs.id WHERE runs.region_id = :r AND runs.period = :p"
        " GROUP BY runs.started_at", r=REGION, p=str(period))
    last_ticket = scalar(stack, "redemption", "SELECT max(created_at) FROM tickets"
                         " WHERE region_id = :r AND period = :p", r=REGION, p=str(period))
    return (last_grant - started).total_seconds(), (last_ticket - last_grant).total_seconds()


def run(stack):
    """The benchmark on a running ``stack``; True when both targets are met."""
    count, by_facts = households(), min(roster_facts(), households())
    period = period_to_issue()
    operator = signed_in(stack, "operator")
    operator.put(f"/v1/regions/{REGION}/program",
                 {"name": "ベンチ区 こども食堂", "time_zone": TIME_ZONE})
    organisation_id = str(uuid.uuid4())

    heading(f"issuance: {count:,} households in {REGION}, period {period}")
    published, intake = roster_by_facts(stack, operator, by_facts, organisation_id)
    figure(f"roster: {by_facts:,} facts published (confirmed)", f"{published:.1f}", "s")
    figure(f"roster: {by_facts:,} facts taken in by issuance", f"{intake:.1f}",
           f"s ({by_facts / intake:.0f} facts/s)")
    wait_until(lambda: redemption_caught_up(stack, by_facts), timeout=600, interval=0.5,
               what="redemption applying the household facts")
    roster_by_copy(stack, count - by_facts, organisation_id)
    wait_until(lambda: roster_count(operator) == count, timeout=30, what="the roster")

    raw = raw_insert(stack, count, period)
    answered, status, redeemable, books = issue_through_the_gateway(operator, period, count)
    ratio = redeemable / raw

    figure("raw COPY of grants + tickets (baseline)", f"{raw:.2f}", "s")
    figure(f"trigger answered (HTTP {status})", f"{answered:.2f}", "s")
    figure("trigger to every grant redeemable", f"{redeemable:.2f}", "s")
    figure("grants per second, end to end", f"{count / redeemable:,.0f}", "/s")
    run_seconds, ticket_lag = where_the_time_went(stack, period)
    figure("  of which issuance: opening to last batch", f"{run_seconds:.2f}", "s")
    figure("  then redemption: to its last ticket", f"{ticket_lag:.2f}", "s")
    figure("ratio platform / raw insert", f"{ratio:.1f}", "x")
    figure("accounts balanced", str(books["balanced"]))
    within_time = verdict(f"within {TARGET_SECONDS:.0f} s", redeemable <= TARGET_SECONDS)
    within_ratio = verdict(f"within {TARGET_RATIO:.0f}x the raw insert", ratio <= TARGET_RATIO)
    if not books["balanced"]:
        print(f"   ACCOUNTS NOT BALANCED: {books['differences']}", flush=True)
    return within_time and within_ratio and books["balanced"]


def main():
    with running_platform() as stack:
        run(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
