"""Small helpers for the end-to-end tests: waiting on evidence, reading the mailbox, and for the
resilience tests reading a service's own database and metrics, publishing a fact as its service
would, and a RabbitMQ node of their own to stop and start."""

import mailbox
import os
import pwd
import shutil
import subprocess
import time
from datetime import datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import requests
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from shokudo_common.periods import Period

from gateway.staff import AccountError, create_account_at

STAFF_PASSWORD = "integration staff password"
# Redemption's QR secret in every test stack, so that a test can sign a QR code the counter
# should refuse (expired, naming another household's ticket) as only a thief with it could.
QR_SECRET = "end-to-end-tests-qr-secret-not-for-production-0001"


def signed_in(stack, gateway, role, **scope):
    """The gateway as a staff member of ``role`` sees it.

    The account is created the first time, as the operator does (``gateway.staff``), in the
    stack's gateway database; after that the same login signs in again.
    """
    login = "-".join([role, *scope.values()])
    try:
        create_account_at(stack.database_uri("gateway"), login, STAFF_PASSWORD, role, **scope)
    except AccountError:
        pass  # created by an earlier test
    return gateway.sign_in(login, STAFF_PASSWORD)


def wait_until(probe, timeout=30, interval=0.1, what="condition"):
    """Poll ``probe`` until it returns something truthy: the evidence that the thing happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s (last seen: {last!r})")


def messages(mail_dir):
    """Every message the SMTP sink has received, parsed."""
    if not (mail_dir / "new").exists():
        return []
    box = mailbox.Maildir(mail_dir, factory=None, create=False)
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(box.get_bytes(key)) for key in box.keys()]


def messages_to(mail_dir, address):
    return [message for message in messages(mail_dir) if address in str(message["To"])]


def body_text(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def current_period(zone="Asia/Tokyo"):
    """The period whose tickets are usable today: last month's."""
    today = datetime.now(ZoneInfo(zone))
    this_month = Period(today.year, today.month)
    if this_month.month == 1:
        return Period(this_month.year - 1, 12), this_month
    return Period(this_month.year, this_month.month - 1), this_month


# -- a service's own books -----------------------------------------------------------------

def rows(stack, service, sql, **params):
    """Rows of ``sql`` in ``service``'s own database, as dicts; no connection is kept open."""
    engine = create_engine(stack.database_uri(service), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(stack, service, sql, **params):
    [row] = rows(stack, service, sql, **params)
    [value] = row.values()
    return value


def metric(process, name, **labels):
    """The sum of ``name``'s samples at one process's /metrics whose labels include ``labels``."""
    response = requests.get(process.url + "/metrics", timeout=5)
    response.raise_for_status()
    exposed = response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposed)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


# -- facts on the broker -------------------------------------------------------------------

def publish_facts(amqp_uri, source_service, event_type, payloads):
    """Publish ``payloads`` exactly as ``source_service``'s outbox relay would, confirmed."""
    exchange = get_event_exchange(source_service, {})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection)
        for payload in payloads:
            producer.publish(payload, exchange=exchange, routing_key=event_type,
                             serializer="json", delivery_mode=2, declare=[exchange])


# -- a broker of the test's own ------------------------------------------------------------

class BrokerUnusable(RuntimeError):
    """This machine cannot run a RabbitMQ node of the test's own (no rabbitmqctl, not root)."""


class PrivateRabbit:
    """A RabbitMQ node on its own port, so that stopping it disturbs no one else's services.

    ``rabbitmqctl stop_app`` on the shared node would cut every stack on the machine off its
    broker; this node carries one test stack only.
    """

    def __init__(self, node, port, dist_port, data_dir):
        self.node = node
        self.port = port
        self.dist_port = dist_port
        self.data_dir = data_dir

    @property
    def amqp_uri(self):
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}//"

    @staticmethod
    def check_usable():
        missing = [tool for tool in ("rabbitmq-server", "rabbitmqctl") if not shutil.which(tool)]
        if missing:
            raise BrokerUnusable(f"{' and '.join(missing)} not installed on this machine")
        if os.geteuid() != 0:
            raise BrokerUnusable("starting and stopping a RabbitMQ node needs root")

    def start(self, timeout=60):
        self.check_usable()
        self._ctl("stop", check=False)  # a node left behind by an interrupted run
        self._prepare_data_dir()
        subprocess.run(["rabbitmq-server", "-detached"], env=self._environment(), check=True,
                       capture_output=True, timeout=timeout)
        self._ctl("wait", str(self.data_dir / "node.pid"), "--timeout", str(timeout))
        return self

    def stop_app(self):
        self._ctl("stop_app")

    def start_app(self):
        self._ctl("start_app")

    def shutdown(self):
        self._ctl("stop", check=False)

    def queue_depth(self, queue):
        """(messages ready, messages delivered and not yet acknowledged) in ``queue``."""
        listing = self._ctl("list_queues", "-q", "--no-table-headers", "name", "messages_ready",
                            "messages_unacknowledged").stdout
        for line in listing.splitlines():
            name, ready, unacknowledged = line.split()
            if name == queue:
                return int(ready), int(unacknowledged)
        return 0, 0

    def _prepare_data_dir(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        (self.data_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.data_dir / "enabled_plugins").write_text("[].\n")
        (self.data_dir / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        # The server scripts run as the rabbitmq user, who must own the node's files.
        owner = pwd.getpwnam("rabbitmq")
        for path in (self.data_dir, *self.data_dir.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _environment(self):
        return dict(
            os.environ,
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONF_ENV_FILE=str(self.data_dir / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(self.data_dir / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.data_dir / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(self.data_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.data_dir / "log"),
            RABBITMQ_PID_FILE=str(self.data_dir / "node.pid"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )

    def _ctl(self, *command, check=True):
        done = subprocess.run(["rabbitmqctl", "-n", self.node, *command], capture_output=True,
                              text=True, timeout=90)
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(command)} failed: {done.stderr[-500:]}")
        return done
