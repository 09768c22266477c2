"""Event queues as classic or quorum queues, the same way at deployment and in every service.

RabbitMQ refuses to redeclare a queue with other arguments: once ``topology`` has declared
``evt-…`` as a quorum queue, nameko's own declaration at start (no arguments) fails with
``406 PRECONDITION_FAILED - inequivalent arg 'x-queue-type'`` (seen on RabbitMQ 3.10 here).
So both sides read the same setting, ``EVENT_QUEUE_TYPE`` (``classic``, the default, or
``quorum``), and :class:`EventHandler` declares its queue with the same arguments.

Only the durable event queues can be quorum queues: nameko's RPC and reply queues are
auto-delete or exclusive, which quorum queues cannot be, and stay classic. The type of an
existing queue cannot change in place; see deploy/README.md before switching.
"""

from kombu import Queue
from nameko.events import EventHandler as NamekoEventHandler

QUEUE_TYPE_KEY = "EVENT_QUEUE_TYPE"
QUEUE_TYPES = ("classic", "quorum")


def queue_type(config):
    value = str(config.get(QUEUE_TYPE_KEY) or "classic").strip().lower()
    if value not in QUEUE_TYPES:
        raise ValueError(f"{QUEUE_TYPE_KEY} must be classic or quorum, not {value!r}")
    return value


def queue_arguments(kind):
    """The declaration arguments of an event queue of type ``kind``."""
    return {"x-queue-type": "quorum"} if kind == "quorum" else {}


class EventHandler(NamekoEventHandler):
    """nameko's event handler, declaring its queue with the configured type's arguments."""

    def setup(self):
        super().setup()
        arguments = queue_arguments(queue_type(self.container.config))
        if arguments:
            # The queue consumer reads ``self.queue`` when it (re)connects, after setup.
            queue = self.queue
            self.queue = Queue(
                queue.name, exchange=queue.exchange, routing_key=queue.routing_key,
                durable=queue.durable, auto_delete=queue.auto_delete,
                exclusive=queue.exclusive, queue_arguments=arguments,
            )


event_handler = EventHandler.decorator
