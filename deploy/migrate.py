"""Prepares the ground before any service of the platform starts, once per deployment.

1. Every service's database, and the gateway's (staff accounts, sessions), is brought to its
   latest schema with its own Alembic history.
2. Every event queue of every service is declared (``shokudo_common.topology``), so that a
   fact published before its consumer first starts waits in its queue instead of vanishing.

Both steps are idempotent: running it again on a prepared platform changes nothing. It is what
compose's one-shot ``migrate`` service and the Kubernetes Job ``shokudo-migrate`` run from the
platform image:

    python deploy/migrate.py

Each service's database comes from ``<SERVICE>_DB_URI`` (``DIRECTORY_DB_URI``,
``ENROLLMENT_DB_URI``, ..., ``GATEWAY_DB_URI``), the broker from ``AMQP_URI``. The addresses carry passwords, so
they are never printed.
"""

import importlib
import os
import sys
from pathlib import Path

from shokudo_common import topology
from shokudo_common.migrations import upgrade
from shokudo_common.queues import queue_type

SERVICES_WITH_DATABASES = ("directory", "enrollment", "issuance", "redemption", "notification",
                           "gateway")


def database_variable(service):
    return f"{service.upper()}_DB_URI"


def migrations_of(service):
    """The service's Alembic folder, wherever its package is installed."""
    package = importlib.import_module(service)
    return Path(package.__file__).resolve().parent / "migrations"


def missing_settings(environ):
    wanted = [database_variable(service) for service in SERVICES_WITH_DATABASES] + ["AMQP_URI"]
    return [name for name in wanted if not environ.get(name)]


def prepare(environ):
    for service in SERVICES_WITH_DATABASES:
        upgrade(migrations_of(service), environ[database_variable(service)])
        print(f"{service}: database schema at head", flush=True)

    kind = queue_type(environ)
    queues = topology.declare(environ["AMQP_URI"], kind=kind)
    print(f"{len(queues)} event queues declared ({kind})", flush=True)


def main(environ=os.environ):
    missing = missing_settings(environ)
    if missing:
        print("not set: " + ", ".join(missing), file=sys.stderr)
        return 2
    prepare(environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
