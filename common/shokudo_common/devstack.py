"""The whole platform as local processes: what ``make demo`` and the integration tests run.

A :class:`Stack` checks that RabbitMQ and PostgreSQL answer, creates one database per service,
runs each service's Alembic migrations, declares the event queues, then starts every service,
the gateway and an SMTP sink as separate processes (``nameko run`` with the service's own
``config.yaml``, environment variables filling it in), and waits until each answers ``/health``.
Production runs the same commands in containers (docker-compose.yml, deploy/).

Tests that prove what survives a crash also stop, kill and restart single processes
(:meth:`Stack.stop_component`, :meth:`Stack.restart_component`), each with its own environment
on top of the stack's (``component_env``, or ``env=`` for one start).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from kombu import Connection
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from shokudo_common import topology
from shokudo_common.migrations import upgrade
from shokudo_common.signing_secrets import DEVELOPMENT_SWITCH

ROOT = Path(__file__).resolve().parents[2]

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached"


@dataclass(frozen=True)
class Component:
    name: str
    entry: str
    folder: str
    has_database: bool = True

    @property
    def config_file(self):
        return ROOT / self.folder / "config.yaml"

    @property
    def migrations(self):
        return ROOT / self.folder / self.name / "migrations"


COMPONENTS = (
    Component("directory", "directory.service:DirectoryService", "services/directory"),
    Component("enrollment", "enrollment.service:EnrollmentService", "services/enrollment"),
    Component("issuance", "issuance.service:IssuanceService", "services/issuance"),
    Component("redemption", "redemption.service:RedemptionService", "services/redemption"),
    Component("notification", "notification.service:NotificationService",
              "services/notification"),
    Component("gateway", "gateway.service:GatewayService", "gateway"),
)
BY_NAME = {component.name: component for component in COMPONENTS}


class InfrastructureMissing(RuntimeError):
    """RabbitMQ or PostgreSQL does not answer; the message says how to start it."""


class PortInUse(RuntimeError):
    """Something already listens where a process of this stack should.

    Most often a process left from an earlier run; it would share the work (eventlet listens
    with SO_REUSEPORT) and the queues, with code and databases that may no longer match.
    """


def refuse_if_listening(port, what):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise PortInUse(
                f"port {port}, meant for {what}, is already in use: a stack still running"
                f" (such as `make demo-keep`) or a process left from an earlier run. Find it"
                f" with:  ss -ltnp 'sport = :{port}'"
            )


@dataclass
class Process:
    component: Component
    replica: int
    port: int
    popen: subprocess.Popen
    log_path: Path

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kill(self, sig=signal.SIGKILL):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        self.popen.wait(timeout=30)


@dataclass
class Stack:
    """One platform instance: its databases share ``db_prefix``, its processes ``var_dir``."""

    db_prefix: str = "shokudo"
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672//"
    postgres_uri: str = "postgresql+psycopg2://postgres@127.0.0.1:5432"
    port_base: int = 8000
    smtp_port: int = 1025
    var_dir: Path = ROOT / "var" / "stack"
    extra_env: dict = field(default_factory=dict)
    # Per component name, on top of extra_env: {"notification": {"RPC_TIMEOUT_SECONDS": "2"}}.
    component_env: dict = field(default_factory=dict)
    processes: list = field(default_factory=list)

    # -- infrastructure -------------------------------------------------------------------

    def check_infrastructure(self):
        try:
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
            raise InfrastructureMissing(
                f"RabbitMQ does not answer at {self.amqp_uri} ({type(error).__name__}).\n"
                f"Start it with:  {START_RABBITMQ}"
            ) from None
        try:
            with self._admin_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError:
            raise InfrastructureMissing(
                f"PostgreSQL does not answer at {self.postgres_uri}.\n"
                f"Start it with:  {START_POSTGRES}"
            ) from None

    def database_uri(self, component_name):
        return f"{self.postgres_uri}/{self.db_prefix}_{component_name}"

    def create_databases(self, fresh=True):
        engine = self._admin_engine()
        with engine.connect() as connection:
            for component in COMPONENTS:
                if not component.has_database:
                    continue
                name = f"{self.db_prefix}_{component.name}"
                if fresh:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if not exists:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()

    def migrate(self):
        for component in COMPONENTS:
            if component.has_database:
                upgrade(component.migrations, self.database_uri(component.name))

    def declare_queues(self):
        return topology.declare(self.amqp_uri)

    def prepare(self, fresh=True):
        self.check_infrastructure()
        # Before anything is dropped: a stack of this name still running would otherwise lose
        # its databases, logs and mail, and only then be refused its ports.
        self.refuse_taken_ports()
        if fresh:
            # Logs and mail of an earlier run would no longer match the new databases.
            for folder in ("logs", "mail"):
                shutil.rmtree(self.var_dir / folder, ignore_errors=True)
        self.create_databases(fresh=fresh)
        self.migrate()
        self.declare_queues()

    def _admin_engine(self):
        return create_engine(
            f"{self.postgres_uri}/postgres", isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )

    # -- processes ------------------------------------------------------------------------

    @property
    def mail_dir(self):
        return self.var_dir / "mail"

    @property
    def gateway_url(self):
        return f"http://127.0.0.1:{self.port_base}"

    def environment(self, component, port, overrides=None):
        env = dict(os.environ)
        env.update({
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "PYTHONUNBUFFERED": "1",
            # A local stack signs with the repository's development secrets
            # (shokudo_common.signing_secrets); a deployment must set its own.
            DEVELOPMENT_SWITCH: "true",
        })
        if component.has_database:
            env["DB_URI"] = self.database_uri(component.name)
        env.update(self.extra_env)
        env.update(self.component_env.get(component.name, {}))
        env.update(overrides or {})
        return env

    def port_for(self, component, replica):
        index = [c.name for c in COMPONENTS].index(component.name)
        offset = 0 if component.name == "gateway" else 1 + index
        return self.port_base + offset + 10 * replica

    def refuse_taken_ports(self):
        """Raise :class:`PortInUse` when a port of this stack (one replica of each component,
        and the SMTP sink) is already taken."""
        refuse_if_listening(self.smtp_port, "the SMTP sink")
        for component in COMPONENTS:
            refuse_if_listening(self.port_for(component, 0), f"{component.name} replica 0")

    def start_smtp_sink(self):
        refuse_if_listening(self.smtp_port, "the SMTP sink")
        # aiosmtpd's Mailbox builds the maildir only when the folder is missing: build it whole.
        for part in ("tmp", "new", "cur"):
            (self.mail_dir / part).mkdir(parents=True, exist_ok=True)
        log_path = self.var_dir / "smtp-sink.log"
        command = [
            sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.smtp_port}",
            "-c", "aiosmtpd.handlers.Mailbox", str(self.mail_dir),
        ]
        popen = subprocess.Popen(
            command, stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(Process(Component("smtp", "", ""), 0, self.smtp_port, popen,
                                      log_path))

    def start_component(self, name, replica=0, env=None):
        """Start one process of ``name``; ``env`` adds to its environment for this start only."""
        component = BY_NAME[name]
        port = self.port_for(component, replica)
        refuse_if_listening(port, f"{name} replica {replica}")
        log_path = self.var_dir / "logs" / f"{name}-{replica}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "shokudo_common.launch", "run", "--config",
            str(component.config_file),
            component.entry,
        ]
        popen = subprocess.Popen(
            command, env=self.environment(component, port, env), stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        process = Process(component, replica, port, popen, log_path)
        self.processes.append(process)
        return process

    def start(self, replicas=None, timeout=60):
        replicas = replicas or {}
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.start_smtp_sink()
        started = []
        for component in COMPONENTS:
            for replica in range(replicas.get(component.name, 1)):
                started.append(self.start_component(component.name, replica))
        for process in started:
            self.wait_healthy(process, timeout)
        return started

    def wait_healthy(self, process, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(
                    f"{process.component.name} exited with {process.popen.returncode};"
                    f" see {process.log_path}"
                )
            try:
                if requests.get(process.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{process.component.name} not healthy after {timeout} s")

    def process(self, name, replica=0):
        """The running process of ``name`` and ``replica``."""
        for process in reversed(self.processes):
            if process.component.name == name and process.replica == replica \
                    and process.popen.poll() is None:
                return process
        raise LookupError(f"no running {name} replica {replica}")

    def stop_component(self, name, replica=0, sig=signal.SIGTERM):
        """Stop one process (SIGKILL for a crash) and forget it; returns the stopped process."""
        process = self.process(name, replica)
        process.kill(sig)
        self.processes.remove(process)
        return process

    def restart_component(self, name, replica=0, sig=signal.SIGKILL, env=None, timeout=60):
        """Stop one process as ``sig`` does, start it again with ``env``, wait until healthy."""
        self.stop_component(name, replica, sig)
        process = self.start_component(name, replica, env)
        self.wait_healthy(process, timeout)
        return process

    def stop(self, grace_seconds=15):
        """Ask every process to stop; one still busy after ``grace_seconds`` is killed."""
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.popen.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        self.processes.clear()
