"""The platform the benchmarks measure: started as production runs it, on a stack of its own.

Databases ``shokudo_bench_*``, the RabbitMQ vhost ``shokudo-bench`` (``BENCH_NAME`` names
another stack, e.g. ``shokudo_bench_perf``, to run beside a colleague's), the gateway on
``BENCH_PORT_BASE`` (19000) and each service just above it, one process each unless
``BENCH_REPLICAS`` says otherwise (``redemption=2,issuance=2``). Only the gateway's rate limits
are raised (the load comes from one address and a few restaurants) and issuance's timer waits an
hour, so that the run starts when the benchmark triggers it; everything else is as configured.
"""

import os
import statistics
import time
from contextlib import contextmanager

import psycopg2.extensions
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from shokudo_common.client import GatewayClient
from shokudo_common.devstack import ROOT, Stack

from gateway.staff import AccountError, create_account_at

# A stack name of its own: preparing a stack drops every database of its prefix first.
NAME = os.environ.get("BENCH_NAME", "shokudo_bench")
VHOST = NAME.replace("_", "-")
MANAGEMENT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
STAFF_PASSWORD = "benchmark staff password"

# Importing shokudo_common.db made psycopg2 cooperative with eventlet (psycogreen), which this
# plain process does not run: blocking calls are what it needs, and COPY refuses the callback.
psycopg2.extensions.set_wait_callback(None)

BENCH_ENV = {
    "GATEWAY_SIGN_IN_PER_ADDRESS": "1000000/minute",
    "GATEWAY_SIGN_IN_PER_LOGIN": "1000000/minute",
    "GATEWAY_ACTIVATION_PER_ADDRESS": "1000000/minute",
    "GATEWAY_REDEMPTION_PER_RESTAURANT": "1000000/minute",
    "GATEWAY_FAILED_LOOKUPS": "1000000/minute",
    "GATEWAY_FAILED_LOOKUPS_SLOW_AFTER": "1000000",
    "ISSUANCE_TIMER_SECONDS": "3600",
}


def port_base():
    return int(os.environ.get("BENCH_PORT_BASE", "19000"))


def replicas():
    """``BENCH_REPLICAS=redemption=2,issuance=2`` as {"redemption": 2, "issuance": 2}."""
    spec = os.environ.get("BENCH_REPLICAS", "")
    pairs = (part.split("=") for part in spec.split(",") if part.strip())
    return {name.strip(): int(count) for name, count in pairs}


def fresh_vhost(name):
    """Delete and recreate ``name`` so no queue or message survives from an earlier run."""
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10)
    requests.put(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10).raise_for_status()
    permissions = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(f"{MANAGEMENT}/api/permissions/{name}/guest", json=permissions, auth=auth,
                 timeout=10).raise_for_status()


@contextmanager
def running_platform():
    """A fresh bench stack, stopped on leaving whatever happened."""
    fresh_vhost(VHOST)
    base = port_base()
    stack = Stack(
        db_prefix=NAME, amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{VHOST}",
        port_base=base, smtp_port=base + 99, var_dir=ROOT / "var" / NAME, extra_env=BENCH_ENV,
    )
    stack.prepare(fresh=True)
    try:
        stack.start(replicas=replicas())
        yield stack
    finally:
        # A service still working through a backlog (notification after 100,000 grants) is
        # killed sooner: the next run starts from fresh databases anyway.
        stack.stop(grace_seconds=5)


def signed_in(stack, role, **scope):
    """The gateway as a staff member of ``role`` sees it; the account is made the first time."""
    login = "-".join(["bench", role, *scope.values()])
    try:
        create_account_at(stack.database_uri("gateway"), login, STAFF_PASSWORD, role, **scope)
    except AccountError:
        pass  # made earlier in this run
    return GatewayClient(stack.gateway_url).sign_in(login, STAFF_PASSWORD)


# -- reading a service's own books -------------------------------------------------------

def database(stack, service):
    """An engine on ``service``'s database that keeps no connection after use."""
    return create_engine(stack.database_uri(service), poolclass=NullPool)


def one_row(stack, service, sql, **params):
    engine = database(stack, service)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).one()
    finally:
        engine.dispose()


def scalar(stack, service, sql, **params):
    [value] = one_row(stack, service, sql, **params)
    return value


# -- waiting and reporting ---------------------------------------------------------------

def wait_until(probe, timeout, interval=0.1, what="condition"):
    """Poll ``probe`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise RuntimeError(f"{what} did not happen within {timeout} s (last seen: {last!r})")


def percentiles(durations_ms):
    """p50, p95 and p99 of a list of durations in milliseconds."""
    cuts = statistics.quantiles(durations_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def heading(text_):
    print(f"\n== {text_}", flush=True)


def figure(label, value, unit=""):
    print(f"   {label:<46} {value:>12} {unit}".rstrip(), flush=True)


def verdict(label, met):
    print(f"   target {label}: {'MET' if met else 'MISSED'}", flush=True)
    return met
