"""Declare every event queue before any event is published.

nameko declares a handler's queue when the handler's service starts. An event published before
that (a consumer deployed later than its publisher, a first start in the wrong order) would
reach an exchange with no queue bound and vanish. Deployment therefore declares all queues of
all services first, with the same names and flags nameko uses, so facts wait in their queues.

    python -m shokudo_common.topology   # AMQP_URI and EVENT_QUEUE_TYPE from the environment

With ``EVENT_QUEUE_TYPE=quorum`` the queues are quorum queues, and every service must run with
the same setting (:mod:`shokudo_common.queues` says why).
"""

import inspect
import os

from kombu import Connection, Queue
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import get_event_exchange

from shokudo_common.queues import queue_arguments, queue_type

SERVICE_CLASSES = (
    "enrollment.service:EnrollmentService",
    "issuance.service:IssuanceService",
    "redemption.service:RedemptionService",
    "directory.service:DirectoryService",
    "notification.service:NotificationService",
)


def load(path):
    module_name, class_name = path.split(":")
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)


def event_queues(service_cls, kind="classic"):
    """The durable queues nameko will declare for ``service_cls``'s event handlers."""
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler) and entrypoint.handler_type == SERVICE_POOL:
                exchange = get_event_exchange(entrypoint.source_service, {})
                name = (
                    f"evt-{entrypoint.source_service}-{entrypoint.event_type}"
                    f"--{service_cls.name}.{method_name}"
                )
                yield Queue(
                    name, exchange=exchange, routing_key=entrypoint.event_type,
                    durable=True, auto_delete=False, exclusive=False,
                    queue_arguments=queue_arguments(kind),
                )


def declare(amqp_uri, service_paths=SERVICE_CLASSES, kind="classic"):
    declared = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for path in service_paths:
            for queue in event_queues(load(path), kind):
                queue(channel).declare()
                declared.append(queue.name)
    return declared


if __name__ == "__main__":
    uri = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//")
    for name in declare(uri, kind=queue_type(os.environ)):
        print(name)
