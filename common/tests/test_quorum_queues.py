"""Event queues as quorum queues: declared so at deployment, and nameko agrees when it starts."""

import eventlet
import pytest
import requests
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Queue
from nameko.containers import ServiceContainer
from nameko.standalone.events import event_dispatcher
from sqlalchemy import text

from shokudo_common.db import Database
from shokudo_common.handlers import on_event
from shokudo_common.queues import queue_type
from shokudo_common.topology import event_queues

from conftest import MANAGEMENT, VHOST


class Listener:
    name = "quorum_listener"

    db = Database()

    @on_event("quorum_source", "bell_rang")
    def write_it_down(self, payload):
        self.db.execute(text("INSERT INTO notes (text) VALUES (:text)"),
                        {"text": payload["text"]})


def declare_as_deployment_does(amqp_uri, kind):
    queues = list(event_queues(Listener, kind))
    with Connection(amqp_uri) as connection:
        for queue in queues:
            queue(connection.channel()).declare()
    return queues


def type_of(queue_name):
    answer = requests.get(f"{MANAGEMENT}/api/queues/{VHOST}/{queue_name}",
                          auth=("guest", "guest"), timeout=10)
    answer.raise_for_status()
    return answer.json()["type"]


@pytest.fixture
def quorum_queue(amqp_uri):
    [queue] = declare_as_deployment_does(amqp_uri, "quorum")
    yield queue
    with Connection(amqp_uri) as connection:
        queue(connection.channel()).delete()


def test_a_service_set_to_quorum_starts_on_the_quorum_queue_and_consumes(
        config, engine, quorum_queue):
    container = ServiceContainer(Listener, {**config, "EVENT_QUEUE_TYPE": "quorum"})
    container.start()
    try:
        dispatch = event_dispatcher(config)
        dispatch("quorum_source", "bell_rang", {"event_id": "e-1", "text": "rang"})

        for _ in range(100):
            with engine.connect() as connection:
                if connection.execute(text("SELECT count(*) FROM notes")).scalar():
                    break
            eventlet.sleep(0.05)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT text FROM notes")).scalars().all() == ["rang"]
        assert type_of(quorum_queue.name) == "quorum"
    finally:
        container.stop()


def test_rabbitmq_refuses_nameko_s_plain_declaration_of_a_quorum_queue(amqp_uri, quorum_queue):
    """Why the setting must be the same everywhere: the finding, kept true by a test."""
    plain = Queue(quorum_queue.name, exchange=quorum_queue.exchange,
                  routing_key=quorum_queue.routing_key, durable=True, auto_delete=False)

    with Connection(amqp_uri) as connection:
        with pytest.raises(PreconditionFailed, match="x-queue-type"):
            plain(connection.channel()).declare()


@pytest.mark.parametrize("setting, expected", [
    (None, "classic"), ("classic", "classic"), ("Quorum", "quorum"),
])
def test_the_queue_type_setting(setting, expected):
    assert queue_type({"EVENT_QUEUE_TYPE": setting}) == expected


def test_an_unknown_queue_type_is_refused():
    with pytest.raises(ValueError, match="classic or quorum"):
        queue_type({"EVENT_QUEUE_TYPE": "stream"})
