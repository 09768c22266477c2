"""The outbox relays committed facts and only those; handlers apply once, retry, then park."""

import json

import eventlet
import pytest
from eventlet.queue import LightQueue
from kombu import Connection, Exchange, Queue
from nameko.containers import ServiceContainer
from sqlalchemy import text

from shokudo_common import parking
from shokudo_common.db import Database
from shokudo_common.entrypoints import rpc
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.outbox import Outbox

from plumbing_models import Note

FAILURES = {"remaining": 0}


class Publisher:
    name = "publisher"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox(idle_seconds=0.05)

    @rpc
    def write(self, note, commit=True):
        self.db.add(Note(text=note))
        self.outbox.add(self.db, "note_written", {"note": note})
        if commit:
            self.db.commit()
        else:
            self.db.rollback()


class Consumer:
    name = "consumer"

    db = Database()

    @on_event("publisher", "note_written")
    def copy_note(self, payload):
        if FAILURES["remaining"]:
            FAILURES["remaining"] -= 1
            raise RuntimeError("the consumer is broken")
        self.db.add(Note(text="copy of " + payload["note"]))


@pytest.fixture
def running(config):
    containers = []

    def run(service_cls):
        container = ServiceContainer(service_cls, config)
        container.start()
        containers.append(container)
        return container

    yield run
    for container in containers:
        container.stop()


def listen(amqp_uri):
    """A queue bound to the publisher's events, declared before anything is published."""
    queue = Queue("probe", Exchange("publisher.events", type="topic", durable=True),
                  routing_key="#", auto_delete=False, durable=True)
    with Connection(amqp_uri) as connection:
        bound = queue(connection.channel())
        bound.declare()
        bound.purge()
    return queue


def received(amqp_uri, queue, count, timeout=10):
    messages = []
    with Connection(amqp_uri) as connection:
        bound = queue(connection.channel())
        with eventlet.Timeout(timeout, False):
            while len(messages) < count:
                message = bound.get(no_ack=True)
                if message is None:
                    eventlet.sleep(0.05)
                    continue
                messages.append(message)
    return messages


def notes(engine):
    with engine.connect() as connection:
        return sorted(row.text for row in connection.execute(text("SELECT text FROM notes")))


def call(container, method, *args, **kwargs):
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy(container.service_name, container.config,
                         context_data={"correlation_id": "corr-1"}) as proxy:
        return getattr(proxy, method)(*args, **kwargs)


def test_committed_facts_are_published_with_their_correlation_id(running, amqp_uri):
    queue = listen(amqp_uri)
    publisher = running(Publisher)

    call(publisher, "write", "kept")
    call(publisher, "write", "rolled back", commit=False)

    [message] = received(amqp_uri, queue, 1)
    assert message.payload["note"] == "kept"
    assert message.headers["nameko.correlation_id"] == "corr-1"
    assert received(amqp_uri, queue, 1, timeout=1) == []


def test_a_fact_committed_before_a_crash_is_published_after_restart(running, engine, amqp_uri):
    queue = listen(amqp_uri)
    event_id = "0b7c5e1e-0000-4000-8000-000000000001"
    with engine.begin() as connection:
        # What a process killed between its commit and the relay leaves behind.
        connection.execute(text(
            "INSERT INTO outbox (event_id, event_type, payload)"
            " VALUES (:event_id, 'note_written', CAST(:payload AS jsonb))"
        ), {"event_id": event_id,
            "payload": json.dumps({"note": "left behind", "event_id": event_id})})

    running(Publisher)

    [message] = received(amqp_uri, queue, 1)
    assert message.payload["note"] == "left behind"


def test_an_event_delivered_twice_is_applied_once(running, engine, amqp_uri):
    running(Consumer)
    payload = {"note": "twice", "event_id": "0b7c5e1e-0000-4000-8000-000000000002"}

    publish(amqp_uri, payload)
    publish(amqp_uri, payload)
    publish(amqp_uri, {"note": "marker", "event_id": "0b7c5e1e-0000-4000-8000-000000000003"})

    wait_for(lambda: "copy of marker" in notes(engine))
    assert notes(engine).count("copy of twice") == 1


def test_a_failing_handler_parks_the_message_and_a_replay_applies_it_once(
        running, engine, amqp_uri, db_uri):
    FAILURES["remaining"] = 3
    running(Consumer)

    publish(amqp_uri, {"note": "unlucky", "event_id": "0b7c5e1e-0000-4000-8000-000000000004"})

    [parked] = wait_for(lambda: parking.list_parked(db_uri))
    assert parked["attempts"] == 3 and "RuntimeError" in parked["error"]
    assert "copy of unlucky" not in notes(engine)

    assert parking.replay(db_uri, amqp_uri, parked["id"]) is True
    assert parking.replay(db_uri, amqp_uri, parked["id"]) is False
    wait_for(lambda: "copy of unlucky" in notes(engine))
    assert notes(engine).count("copy of unlucky") == 1


def publish(amqp_uri, payload):
    exchange = Exchange("publisher.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(
            json.dumps(payload), exchange=exchange, routing_key="note_written",
            content_type="application/json", declare=[exchange],
        )


def wait_for(probe, timeout=15):
    with eventlet.Timeout(timeout):
        while True:
            result = probe()
            if result:
                return result
            eventlet.sleep(0.05)


class _Worker:
    """What the outbox reads of a worker context: its data."""

    def __init__(self):
        self.data = {}


def test_only_a_worker_that_staged_an_event_wakes_the_relay(engine):
    outbox = Outbox()
    outbox._wake = LightQueue(maxsize=1)
    reader, writer = _Worker(), _Worker()

    outbox.worker_teardown(reader)
    assert outbox._wake.qsize() == 0

    with engine.connect() as connection:
        outbox.get_dependency(writer).add(connection, "note_written", {"text": "hello"})
        connection.rollback()
    outbox.worker_teardown(writer)
    assert outbox._wake.qsize() == 1
