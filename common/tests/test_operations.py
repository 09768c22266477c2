"""Health and golden signals every service inherits, on a real container, broker and database."""

import itertools
import os
import time

import eventlet
import eventlet.event

import pytest
import requests
from nameko.containers import ServiceContainer
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.web.handlers import http
from prometheus_client import REGISTRY
from sqlalchemy import text

from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.errors import NotFound, Unavailable
from shokudo_common.operations import OperationalEndpoints, outcome_of

PORTS = itertools.count(int(os.environ.get("SHOKUDO_IT_PORT_BASE", "18000")) + 90)
UNREACHABLE_BROKER = "pyamqp://guest:guest@127.0.0.1:1//"


class Quiet(OperationalEndpoints):
    """A service with HTTP entrypoints only, so it starts even when the broker is away."""

    name = "quiet"
    db = Database()


class Watched(OperationalEndpoints):
    name = "watched"
    db = Database()

    @rpc
    def answer(self):
        return 42

    @rpc
    def refuse(self):
        raise NotFound("nothing_here", "there is nothing here")

    @rpc
    def break_down(self):
        raise RuntimeError("a bug of ours")


class Holding(OperationalEndpoints):
    """Its ``/hold`` keeps a database connection until the test lets it go."""

    name = "holding"
    db = Database()
    holding = eventlet.event.Event()
    release = eventlet.event.Event()

    @http("GET", "/hold")
    def hold(self, request):
        self.db.execute(text("SELECT 1"))
        Holding.holding.send()
        Holding.release.wait()
        return "done"


def eventually(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        eventlet.sleep(0.05)


def renamed(service_cls, name):
    """nameko-prometheus registers its metrics once per service name and process."""
    return type(service_cls.__name__, (service_cls,), {"name": name})


@pytest.fixture
def start(config):
    containers = []

    def start(service_cls, **settings):
        address = f"127.0.0.1:{next(PORTS)}"
        container = ServiceContainer(
            service_cls, {**config, "WEB_SERVER_ADDRESS": address, **settings})
        container.start()
        containers.append(container)
        return f"http://{address}"

    yield start
    for container in containers:
        container.stop()


def test_a_service_with_its_broker_and_database_is_live_and_ready(start, engine):
    url = start(renamed(Quiet, "quiet_ready"))

    live = requests.get(url + "/health/live", timeout=5)
    ready = requests.get(url + "/health/ready", timeout=5)

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"broker": "ok", "database": "ok"}
    assert requests.get(url + "/health", timeout=5).status_code == 200


def test_without_its_database_a_service_is_live_but_not_ready(start, engine, db_uri):
    missing = db_uri.rsplit("/", 1)[0] + "/shokudo_no_such_database"
    url = start(renamed(Quiet, "quiet_no_database"), DB_URI=missing)

    ready = requests.get(url + "/health/ready", timeout=10)

    assert requests.get(url + "/health/live", timeout=5).status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": "ok", "database": "failed"}


def test_without_its_broker_a_service_is_live_but_not_ready(start, engine):
    url = start(renamed(Quiet, "quiet_no_broker"), AMQP_URI=UNREACHABLE_BROKER,
                HEALTH_CHECK_TIMEOUT_SECONDS=1)

    ready = requests.get(url + "/health/ready", timeout=10)

    assert requests.get(url + "/health/live", timeout=5).status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": "failed", "database": "ok"}


def test_the_parked_and_outbox_gauges_follow_the_database_on_each_scrape(start, engine):
    url = start(renamed(Quiet, "quiet_gauges"))

    def scraped():
        requests.get(url + "/metrics", timeout=5).raise_for_status()
        return [REGISTRY.get_sample_value(name, {"service": "quiet_gauges"}) for name in (
            "shokudo_parked_messages", "shokudo_outbox_pending_events",
            "shokudo_outbox_oldest_pending_age_seconds")]

    assert scraped() == [0, 0, 0]

    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO parked_messages (consumer, queue, event_type, payload, error, attempts)"
            " VALUES ('c.h', 'q', 'e', '{}', 'RuntimeError', 3), ('c.h', 'q', 'e', '{}', 'x', 3)"))
        connection.execute(text(
            "INSERT INTO outbox (event_id, event_type, payload, created_at) VALUES"
            " ('a', 'e', '{}', now() - interval '90 seconds'), ('b', 'e', '{}', now())"))
    parked, pending, oldest = scraped()
    assert (parked, pending) == (2, 2)
    assert 90 <= oldest < 120

    with engine.begin() as connection:
        connection.execute(text("UPDATE parked_messages SET replayed_at = now() WHERE id = 1"))
        connection.execute(text("UPDATE outbox SET published_at = now()"))
    assert scraped() == [1, 0, 0]


def test_each_process_reports_its_database_pool_held_and_its_limit(start):
    url = start(Holding, DB_POOL_SIZE="2", DB_POOL_OVERFLOW="3")

    def scraped():
        requests.get(url + "/metrics", timeout=5).raise_for_status()
        return [REGISTRY.get_sample_value(name, {"service": "holding"}) for name in (
            "shokudo_db_pool_checked_out_connections", "shokudo_db_pool_max_connections")]

    assert scraped() == [0, 5]
    held = eventlet.spawn(requests.get, url + "/hold", timeout=10)
    Holding.holding.wait()
    assert scraped() == [1, 5]  # the worker's; the scrape's own is not counted
    Holding.release.send()
    assert held.wait().text == "done"
    # The worker gives its connection back just after its answer is sent.
    eventually(lambda: scraped() == [0, 5])
    assert scraped() == [0, 5]


def test_entrypoint_calls_are_counted_by_outcome_and_timed(start, config):
    start(Watched)

    def calls(method, outcome):
        return REGISTRY.get_sample_value("shokudo_entrypoint_calls_total", {
            "service": "watched", "entrypoint": method, "outcome": outcome}) or 0

    def timed(method):
        return REGISTRY.get_sample_value("shokudo_entrypoint_duration_seconds_count", {
            "service": "watched", "entrypoint": method}) or 0

    with ClusterRpcProxy(config, timeout=10) as cluster:
        assert cluster.watched.answer() == 42
        assert cluster.watched.answer() == 42
        with pytest.raises(NotFound):
            cluster.watched.refuse()
        with pytest.raises(RemoteError):
            cluster.watched.break_down()

    # The reply leaves before the dependencies hear the worker's result: wait for the last.
    eventually(lambda: timed("break_down") == 1)
    assert calls("answer", "ok") == 2 and timed("answer") == 2
    assert calls("refuse", "refused") == 1 and calls("refuse", "error") == 0
    assert calls("break_down", "error") == 1 and timed("break_down") == 1


@pytest.mark.parametrize("error, outcome", [
    (None, "ok"),
    (NotFound("nothing_here", "there is nothing here"), "refused"),
    (Unavailable("service_unavailable", "a service behind did not answer"), "error"),
    (RuntimeError("a bug of ours"), "error"),
])
def test_outcomes_tell_refusals_from_errors_of_ours(error, outcome):
    assert outcome_of(None if error is None else (type(error), error, None)) == outcome
