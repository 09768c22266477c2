"""A real, migrated PostgreSQL database, a clock that stands still, and a small world of
restaurants, households, cards and tickets built through the service's own event handlers."""

import threading
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory

from shokudo_common.clock import FixedClock
from shokudo_common.testing import database_fixtures, outbox_writer

from redemption.models import Base
from redemption.qr import QrTokenSigner
from redemption.service import RedemptionService

MIGRATIONS = Path(__file__).resolve().parents[1] / "redemption" / "migrations"
TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"
QR_SECRET = "test-qr-secret-of-at-least-32-bytes"


database, session = database_fixtures("redemption", MIGRATIONS, Base.metadata)


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO))


@pytest.fixture
def signer():
    return QrTokenSigner(QR_SECRET, 120)


@pytest.fixture
def make_service(clock, signer):
    """A service worker over ``session``, as nameko would build it, with our clock."""

    def make(session):
        return worker_factory(RedemptionService, db=session, outbox=outbox_writer(),
                              clock=clock, qr_tokens=signer)

    return make


@pytest.fixture
def service(make_service, session):
    return make_service(session)


def new_id():
    return str(uuid.uuid4())


def card_number(prefix):
    """A 16-digit number with a good Luhn check digit, from a 15-digit prefix."""
    digits = [int(d) for d in prefix]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = digit * 2 if position % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    return prefix + str((10 - total % 10) % 10)


def without_version(fact):
    return {name: value for name, value in fact.items() if name != "version"}


class World:
    """Facts from the other services, delivered to the handlers as the broker would."""

    def __init__(self, service):
        self.service = service
        self._cards = 0

    def deliver(self, handler, payload, event_id=None):
        payload = dict(payload, event_id=event_id or new_id())
        getattr(self.service, handler)(payload)
        return payload

    def restaurant(self, region_id=REGION, status="active", name="みどり食堂",
                   organisation_id=None):
        """A restaurant as directory's first announcement (version 1) describes it."""
        restaurant_id = new_id()
        handler = "on_restaurant_joined" if status == "active" else "on_restaurant_suspended"
        self.deliver(handler, self.restaurant_fact(
            restaurant_id, region_id, status, 1, name=name,
            organisation_id=organisation_id or new_id()))
        return restaurant_id

    @staticmethod
    def restaurant_fact(restaurant_id, region_id, status, version, name="みどり食堂",
                        organisation_id="4f1c2d3e-0000-4000-8000-000000000003"):
        """Directory's fact; ``version`` None makes one published before versions existed."""
        fact = {
            "restaurant_id": restaurant_id, "region_id": region_id,
            "organisation_id": organisation_id, "name": name, "status": status,
            "version": version,
        }
        return fact if version is not None else without_version(fact)

    def household(self, region_id=REGION, organisation_id=None):
        """A household as its enrolment (version 1) describes it."""
        household_id = new_id()
        self.deliver("on_household_enrolled", self.household_fact(
            household_id, region_id, organisation_id or new_id(), "active", version=1))
        return household_id

    @staticmethod
    def household_fact(household_id, region_id, organisation_id, status, version=None):
        """Enrollment's fact; ``version`` None makes one published before versions existed."""
        fact = {
            "household_id": household_id, "region_id": region_id,
            "organisation_id": organisation_id, "channel": "card", "language": "ja",
            "status": status, "enrolled_at": "2026-02-01T10:00:00+09:00", "version": version,
        }
        return fact if version is not None else without_version(fact)

    def card(self, household_id, region_id=REGION):
        self._cards += 1
        number = card_number(f"{self._cards:015d}")
        self.deliver("on_card_issued", {
            "household_id": household_id, "region_id": region_id, "card_number": number,
        })
        return number

    @staticmethod
    def unknown_card():
        """A well-formed card number enrollment never issued."""
        return card_number("999999999999999")

    def tickets(self, households, period="2026-02", amount_yen=3000, region_id=REGION,
                time_zone="Asia/Tokyo", valid_from="2026-03-01T00:00:00+09:00",
                valid_until="2026-04-01T00:00:00+09:00"):
        """Issuance's batch for ``period``: one grant per household; returns the grant ids."""
        grants = [{"grant_id": new_id(), "household_id": household_id,
                   "organisation_id": new_id()} for household_id in households]
        self.deliver("on_tickets_issued", {
            "run_id": new_id(), "region_id": region_id, "period": period,
            "amount_yen": amount_yen, "time_zone": time_zone,
            "valid_from": valid_from, "valid_until": valid_until,
            "first_day": valid_from[:10], "last_day": None, "grants": grants,
        })
        return [grant["grant_id"] for grant in grants]

    def program(self, region_id=REGION, time_zone="Asia/Tokyo", void_window_hours=0, **more):
        """Issuance's ``program_updated`` for the region."""
        return self.deliver("on_program_updated", {
            "region_id": region_id, "amount_yen": 3000, "issue_day": 20,
            "time_zone": time_zone, "void_window_hours": void_window_hours,
            "late_enrolment": "grant_now", **more,
        })

    def family_with_card(self, **ticket_options):
        """An active household of the region with a card and a March 2026 ticket."""
        household_id = self.household()
        number = self.card(household_id)
        [ticket_id] = self.tickets([household_id], **ticket_options)
        return household_id, number, ticket_id


@pytest.fixture
def world(service):
    return World(service)


@pytest.fixture
def at_once(database, make_service):
    """Run each ``work(service)`` in its own thread, session and worker, released together;
    returns what each returned or raised, in the order given."""

    def run(*works):
        start_together = threading.Barrier(len(works))
        outcomes = [None] * len(works)

        def worker(index, work):
            worker_session = database.make_session()
            try:
                service = make_service(worker_session)
                start_together.wait()
                outcomes[index] = work(service)
            except Exception as error:  # noqa: BLE001 - handed back to the test to judge
                outcomes[index] = error
            finally:
                worker_session.close()

        threads = [threading.Thread(target=worker, args=(index, work))
                   for index, work in enumerate(works)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcomes

    return run
