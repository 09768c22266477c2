"""The platform as production runs it, for the end-to-end tests.

One stack per test session: its own databases (prefix ``shokudo_it``), its own RabbitMQ vhost,
every service, the gateway and an SMTP sink as separate processes on ports 18000+. Tests talk
to it only through the gateway, the SMTP sink's mailbox and, to check the books, each service's
own database.
"""

import os
from pathlib import Path

import pytest
import requests

from shokudo_common.client import GatewayClient
from shokudo_common.devstack import ROOT, Stack

# Two runs on one machine (a developer's and CI's, say) keep apart by setting these.
NAME = os.environ.get("SHOKUDO_IT_NAME", "shokudo_it")
PORT_BASE = int(os.environ.get("SHOKUDO_IT_PORT_BASE", "18000"))
VHOST = NAME.replace("_", "-")
MANAGEMENT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
BOOTSTRAP_KEY = "integration-bootstrap-key"


def fresh_vhost(name):
    """Delete and recreate ``name`` so no queue or message survives from an earlier run."""
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10)
    requests.put(f"{MANAGEMENT}/api/vhosts/{name}", auth=auth, timeout=10).raise_for_status()
    permissions = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(
        f"{MANAGEMENT}/api/permissions/{name}/guest", json=permissions, auth=auth, timeout=10
    ).raise_for_status()


@pytest.fixture(scope="session")
def stack():
    fresh_vhost(VHOST)
    stack = Stack(
        db_prefix=NAME,
        amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{VHOST}",
        port_base=PORT_BASE,
        smtp_port=PORT_BASE + 99,
        var_dir=ROOT / "var" / NAME,
        extra_env={
            "GATEWAY_BOOTSTRAP_KEY": BOOTSTRAP_KEY,
            "ISSUANCE_TIMER_SECONDS": "3600",
            "RPC_TIMEOUT_SECONDS": "20",
        },
    )
    stack.prepare(fresh=True)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gateway(stack):
    return GatewayClient(stack.gateway_url)


@pytest.fixture(scope="session")
def operator(gateway):
    return gateway.as_(gateway.staff_token(BOOTSTRAP_KEY, "operator"))


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
