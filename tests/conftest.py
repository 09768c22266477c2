"""The platform as production runs it, for the end-to-end tests.

One stack per test session: its own databases (prefix ``shokudo_it``), its own RabbitMQ vhost,
every service, the gateway and an SMTP sink as separate processes on ports 18000+. Tests talk
to it only through the gateway, the SMTP sink's mailbox and, to check the books, each service's
own database.

When the run ends, every log of every stack is searched for the personal data of every
household enrolled in the run and of demo/data (tests/privacy_watch.py): a hit fails the run.

The resilience tests (test_resilience_*.py) kill, stop and restart processes, so they run on
stacks of their own, started only when one of them asks:

    stack             PORT_BASE + 0..5,   SMTP + 99   the session's vhost on the shared broker
    resilient_stack   PORT_BASE + 30..46, SMTP + 59   two replicas of issuance, redemption and
                                                      notification
    broker_stack      PORT_BASE + 60..65, SMTP + 89   a RabbitMQ node of its own on + 90 / + 91
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from shokudo_common.client import GatewayClient
from shokudo_common.devstack import ROOT, Stack

from privacy_watch import LogPrivacyWatch, demo_households, personal_values
from support import QR_SECRET, BrokerUnusable, PrivateRabbit, rows, signed_in

# Two runs on one machine (a developer's and CI's, say) keep apart by setting these.
NAME = os.environ.get("SHOKUDO_IT_NAME", "shokudo_it")
PORT_BASE = int(os.environ.get("SHOKUDO_IT_PORT_BASE", "18000"))
VHOST = NAME.replace("_", "-")

MANAGEMENT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
# Every test client is one address, and some tests try unknown cards on purpose: the limits
# are out of the way here (gateway/tests check them).
GENEROUS_RATE_LIMITS = {
    "GATEWAY_SIGN_IN_PER_ADDRESS": "100000/minute",
    "GATEWAY_SIGN_IN_PER_LOGIN": "100000/minute",
    "GATEWAY_ACTIVATION_PER_ADDRESS": "100000/minute",
    "GATEWAY_REDEMPTION_PER_RESTAURANT": "100000/minute",
    "GATEWAY_FAILED_LOOKUPS": "100000/minute",
    "GATEWAY_FAILED_LOOKUPS_SLOW_AFTER": "100000",
}


# Every stack of the run reports here; the run fails if any log holds a family's personal data
# (tests/privacy_watch.py), whichever test wrote it.
PRIVACY = LogPrivacyWatch(personal_values(demo_households()))
ENROLLED = "SELECT guardian_name, guardian_name_kana, phone, email, address FROM households"


def pytest_configure(config):
    config.pluginmanager.register(PRIVACY, LogPrivacyWatch.name)


def fresh_vhost(name):
    """Delete and recreate ``name`` so no queue or message survives from an earlier run."""
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10)
    requests.put(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10).raise_for_status()
    permissions = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(
        f"{MANAGEMENT}/api/permissions/{name}/guest", json=permissions, auth=auth, timeout=10
    ).raise_for_status()


@contextmanager
def running_platform(name, port_base, smtp_port, amqp_uri=None, replicas=None,
                     component_env=None):
    """A fresh stack named ``name`` (databases, vhost, var/ folder), stopped on leaving."""
    if amqp_uri is None:
        vhost = name.replace("_", "-")
        fresh_vhost(vhost)
        amqp_uri = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    stack = Stack(
        db_prefix=name,
        amqp_uri=amqp_uri,
        port_base=port_base,
        smtp_port=smtp_port,
        var_dir=ROOT / "var" / name,
        extra_env={
            **GENEROUS_RATE_LIMITS,
            "ISSUANCE_TIMER_SECONDS": "3600",
            # Tests run at any hour; quiet hours have tests of their own (notification's).
            "QUIET_HOURS": "off",
            # Three stacks of up to nine processes share one PostgreSQL of 100 connections:
            # one kept open per process, up to four more while a burst needs them (a worker
            # beyond that waits for a connection instead of being refused one).
            "DB_POOL_SIZE": "1",
            "DB_POOL_OVERFLOW": "4",
            "RPC_TIMEOUT_SECONDS": "20",
            "QR_TOKEN_SECRET": QR_SECRET,
        },
        component_env=component_env or {},
    )
    stack.prepare(fresh=True)
    PRIVACY.started(stack.var_dir / "logs")
    try:
        stack.start(replicas=replicas)
        yield stack
    finally:
        # A service still working through a backlog (notification, after thousands of grants)
        # is killed sooner: the next run starts from fresh databases anyway.
        stack.stop(grace_seconds=5)
        PRIVACY.stopped(stack.var_dir / "logs", rows(stack, "enrollment", ENROLLED))


@pytest.fixture(scope="session")
def stack():
    with running_platform(NAME, PORT_BASE, PORT_BASE + 99) as stack:
        yield stack


@pytest.fixture(scope="session")
def gateway(stack):
    return GatewayClient(stack.gateway_url)


@pytest.fixture(scope="session")
def operator(stack, gateway):
    return signed_in(stack, gateway, "operator")


@pytest.fixture(scope="session")
def staff(stack, gateway):
    """``staff("restaurant", restaurant_id=...)``: the gateway as that staff member sees it."""
    return lambda role, **scope: signed_in(stack, gateway, role, **scope)


@pytest.fixture(scope="session")
def resilient_stack():
    """Two replicas of issuance, redemption and notification, for tests that race them and
    kill them."""
    with running_platform(
        f"{NAME}_res", PORT_BASE + 30, PORT_BASE + 59,
        replicas={"redemption": 2, "issuance": 2, "notification": 2},
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def private_rabbit():
    """A RabbitMQ node of the broker test's own: stopping it leaves other stacks alone."""
    rabbit = PrivateRabbit(
        node=f"{VHOST}-broker@localhost", port=PORT_BASE + 90, dist_port=PORT_BASE + 91,
        data_dir=ROOT / "var" / f"{NAME}_brk" / "rabbitmq",
    )
    try:
        rabbit.start()
    except BrokerUnusable as reason:
        pytest.skip(f"needs a RabbitMQ node of its own to stop and start: {reason}")
    try:
        yield rabbit
    finally:
        rabbit.shutdown()


@pytest.fixture(scope="module")
def broker_stack(private_rabbit):
    """Every service on the private RabbitMQ node.

    The gateway and notification wait 5 s for an answer, so that requests caught by a broker
    outage end quickly.
    """
    with running_platform(
        f"{NAME}_brk", PORT_BASE + 60, PORT_BASE + 89, amqp_uri=private_rabbit.amqp_uri,
        component_env={name: {"RPC_TIMEOUT_SECONDS": "5"} for name in ("gateway", "notification")},
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def resilient_gateway(resilient_stack):
    return GatewayClient(resilient_stack.gateway_url)


@pytest.fixture(scope="session")
def resilient_operator(resilient_stack, resilient_gateway):
    return signed_in(resilient_stack, resilient_gateway, "operator")


STACK_FIXTURES = {"stack", "resilient_stack", "broker_stack"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        uses_a_stack = STACK_FIXTURES & set(getattr(item, "fixturenames", ()))
        if Path(str(item.fspath)).parent == here and uses_a_stack:
            item.add_marker(pytest.mark.integration)
