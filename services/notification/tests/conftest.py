"""A real migrated database, a real SMTP sink in this process, and a stand-in for enrollment."""

import email
import socket
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from shokudo_common.testing import database_fixtures

from notification.models import Base
from notification.repository import ZONES

MIGRATIONS = Path(__file__).resolve().parents[1] / "notification" / "migrations"


database, session = database_fixtures("notification", MIGRATIONS, Base.metadata)


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((envelope.rcpt_tos, message))
        return "250 OK"

    def to(self, address):
        return [message for recipients, message in self.received if address in recipients]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port():
    """A free local port: an SMTP relay that is down, unless a test starts one there."""
    return free_port()


@pytest.fixture(scope="session")
def smtp_sink():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_sink):
    smtp_sink.handler.received.clear()
    return smtp_sink.handler


class FakeEnrollment:
    """Answers get_contacts from a dict, as enrollment would, and remembers each call."""

    def __init__(self):
        self.contacts = {}
        self.calls = []

    def add(self, contact):
        self.contacts[contact["household_id"]] = contact

    def get_contacts(self, household_ids):
        self.calls.append(list(household_ids))
        return [self.contacts[household_id] for household_id in household_ids
                if household_id in self.contacts]


@pytest.fixture
def enrollment():
    return FakeEnrollment()



@pytest.fixture(autouse=True)
def forget_time_zones():
    """Each test's database is emptied; the zones a process remembers must go with it."""
    ZONES.forget_all()
    yield
    ZONES.forget_all()
