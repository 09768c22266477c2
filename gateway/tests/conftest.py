"""The gateway running for real (nameko container, eventlet web server) in front of fakes.

The fakes stand in for the services at the RPC boundary and behave as docs/contracts.md says
(an organisation's households are its own, unknown ids are NotFound); they record every call
so tests can tell what reached a service and what was refused before. One container serves the
whole session: nameko-prometheus registers its metrics once per process. The gateway's own
database (staff accounts, sessions) is real, migrated, and emptied before each test, and so
are the rate limits' counts.
"""

import base64
import dataclasses
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from nameko.containers import ServiceContainer
from nameko.testing.services import replace_dependencies
from nameko.web.server import WebServer

from shokudo_common.errors import NotFound
from shokudo_common.testing import MigratedDatabase

from gateway import auth, staff
from gateway.models import Base, StaffAccount
from gateway.models import Session as GatewaySession
from gateway.service import GatewayService
from gateway.throttle import RateLimits

from care_fakes import CareEnrollment, CareRedemption

SECRET = "test-token-secret-that-is-long-enough-for-hs256"
MIGRATIONS = Path(__file__).resolve().parents[1] / "gateway" / "migrations"
PASSWORD = "correct horse battery staple"
OTHER_REGION = "tsukimi-ku"
# Low limits, so that tests reach them in a few requests.
RATE_LIMITS = {
    "sign_in_per_address": "8/minute",
    "sign_in_per_login": "4/minute",
    "activation_per_address": "4/minute",
    "redemption_per_restaurant": "6/minute",
    "failed_lookups": "4/10 minutes",
}
FAILED_LOOKUPS_SLOW_AFTER = 2
FAILED_LOOKUPS_DELAY_SECONDS = 1

REGION = "hoshizora-ku"
ORGANISATION_A = "aaaaaaaa-0000-4000-8000-000000000001"
ORGANISATION_B = "bbbbbbbb-0000-4000-8000-000000000002"
HOUSEHOLD_A = "aaaaaaaa-1111-4000-8000-000000000001"
HOUSEHOLD_B = "bbbbbbbb-1111-4000-8000-000000000002"
RESTAURANT = "cccccccc-2222-4000-8000-000000000003"
OTHER_RESTAURANT = "dddddddd-2222-4000-8000-000000000004"
UNKNOWN = "eeeeeeee-9999-4000-8000-000000000009"
ACTIVATION_CODE = "K7Q2-M9XD"
# The family app's origin, allowed to call the gateway from a browser.
APP_ORIGIN = "https://app.shokudo.example"


class Recorder:
    """Remembers each call as (method, args, kwargs)."""

    def __init__(self):
        self.calls = []

    def record(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))

    def called(self, method):
        return [call for call in self.calls if call[0] == method]


class FakeEnrollment(CareEnrollment, Recorder):
    """Enrollment: methods on personal data take the ``accessor`` the trail records; each is
    kept apart in ``accessors`` as (method, accessor), so call records stay as they were."""

    def __init__(self):
        super().__init__()
        self.accessors = []
        self.organisations = {
            ORGANISATION_A: {"id": ORGANISATION_A, "name": "あおば子ども支援",
                             "region_id": REGION},
            ORGANISATION_B: {"id": ORGANISATION_B, "name": "ひかり会", "region_id": REGION},
        }
        self.households = {
            HOUSEHOLD_A: {"id": HOUSEHOLD_A, "organisation_id": ORGANISATION_A,
                          "guardian_name": "山田 花子", "status": "active"},
            HOUSEHOLD_B: {"id": HOUSEHOLD_B, "organisation_id": ORGANISATION_B,
                          "guardian_name": "佐藤 一郎", "status": "active"},
        }
        self.failure = None

    def _fail_if_asked(self):
        if self.failure is not None:
            raise self.failure

    def get_organisation(self, organisation_id):
        self.record("get_organisation", organisation_id)
        if organisation_id not in self.organisations:
            raise NotFound("organisation_not_found", f"no organisation {organisation_id}")
        return self.organisations[organisation_id]

    def create_organisation(self, data):
        self.record("create_organisation", data)
        return {"id": str(uuid.uuid4()), **data}

    def list_organisations(self, region_id):
        self.record("list_organisations", region_id)
        return list(self.organisations.values())

    def accessed(self, method, accessor):
        self.accessors.append((method, accessor))

    def enrol_household(self, organisation_id, data, accessor=None, **keyed):
        self.accessed("enrol_household", accessor)
        self.record("enrol_household", organisation_id, data, **keyed)
        self._fail_if_asked()
        self.get_organisation(organisation_id)
        return {"id": str(uuid.uuid4()), "organisation_id": organisation_id, **data}

    def list_households(self, organisation_id, status=None, accessor=None):
        self.accessed("list_households", accessor)
        self.record("list_households", organisation_id, status=status)
        self.get_organisation(organisation_id)
        return [h for h in self.households.values() if h["organisation_id"] == organisation_id]

    def get_household(self, organisation_id, household_id, accessor=None):
        self.accessed("get_household", accessor)
        return self._find_household(organisation_id, household_id)

    def _find_household(self, organisation_id, household_id):
        """The lookup every household method makes first, recorded as a get_household call
        (but not as an access: the method calling it records its own)."""
        self.record("get_household", organisation_id, household_id)
        household = self.households.get(household_id)
        # An organisation only ever sees its own: another's household is simply not found.
        if household is None or household["organisation_id"] != organisation_id:
            raise NotFound("household_not_found", f"no household {household_id}")
        return household

    def suspend_household(self, organisation_id, household_id, accessor=None):
        return self._set_status("suspend_household", organisation_id, household_id,
                                "suspended", accessor)

    def reinstate_household(self, organisation_id, household_id, accessor=None):
        return self._set_status("reinstate_household", organisation_id, household_id, "active",
                                accessor)

    def withdraw_household(self, organisation_id, household_id, accessor=None):
        return self._set_status("withdraw_household", organisation_id, household_id,
                                "withdrawn", accessor)

    def _set_status(self, method, organisation_id, household_id, status, accessor):
        self.accessed(method, accessor)
        household = self._find_household(organisation_id, household_id)
        self.record(method, organisation_id, household_id)
        household["status"] = status
        return household

    def replace_card(self, organisation_id, household_id, reason, replaced_by, accessor=None,
                     **keyed):
        self.accessed("replace_card", accessor)
        household = self._find_household(organisation_id, household_id)
        self.record("replace_card", organisation_id, household_id, reason, replaced_by, **keyed)
        self._fail_if_asked()
        return {**household, "card_number": "4929111111111116", "in_force_at_counter": True,
                "replacement": {"replacement_id": str(uuid.uuid4()), "reason": reason,
                                "replaced_by": replaced_by}}

    def import_households(self, organisation_id, csv_base64, dry_run=False, accessor=None,
                          **keyed):
        self.accessed("import_households", accessor)
        self.record("import_households", organisation_id, csv_base64, dry_run=dry_run, **keyed)
        return {"dry_run": dry_run,
                "summary": {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0},
                "rows": [{"line": 2, "external_ref": "A-001", "outcome": "created"}]}

    # -- paperwork (test_organisation_documents.py teaches these its own answers) ----------

    def export_households(self, organisation_id, status=None, accessor=None):
        self.accessed("export_households", accessor)
        self.record("export_households", organisation_id, status=status)
        self.get_organisation(organisation_id)
        return "\ufeff管理番号,保護者氏名\r\n"

    def card_sheet(self, organisation_id, household_id=None, accessor=None):
        self.accessed("card_sheet", accessor)
        self.record("card_sheet", organisation_id, household_id)
        self.get_organisation(organisation_id)
        return {"cards": 1, "pdf_base64": "JVBERi0xLjQ="}

    def app_letter(self, organisation_id, household_id, accessor=None):
        self.accessed("app_letter", accessor)
        household = self._find_household(organisation_id, household_id)
        self.record("app_letter", organisation_id, household_id)
        return {"household_id": household["id"], "pdf_base64": "JVBERi0xLjQ="}

    def issue_card(self, organisation_id, household_id, accessor=None, **keyed):
        self.accessed("issue_card", accessor)
        household = self._find_household(organisation_id, household_id)
        self.record("issue_card", organisation_id, household_id, **keyed)
        return {**household, "card_number": "4929111111111116"}

    def block_card(self, organisation_id, household_id, reason, blocked_by, accessor=None,
                   **keyed):
        self.accessed("block_card", accessor)
        household = self._find_household(organisation_id, household_id)
        self.record("block_card", organisation_id, household_id, reason, blocked_by, **keyed)
        return {**household, "card_number": None, "in_force_at_counter": True,
                "blocked_card_number": "4929111111111116", "block_reason": reason}

    def issue_activation_code(self, organisation_id, household_id, accessor=None):
        self.accessed("issue_activation_code", accessor)
        household = self._find_household(organisation_id, household_id)
        self.record("issue_activation_code", organisation_id, household_id)
        return {**household, "activation_code": "NEW2-CODE-4567",
                "activation_code_expires_at": "2026-06-01T00:00:00+00:00"}

    def activate_app(self, activation_code):
        self.record("activate_app", activation_code)
        if activation_code != ACTIVATION_CODE:
            raise NotFound("activation_code_not_found", "no such activation code")
        return {"household_id": HOUSEHOLD_A, "region_id": REGION,
                "organisation_id": ORGANISATION_A}

    def access_trail(self, query):
        self.record("access_trail", query)
        return {"records": [{
            "record_id": 7, "at": "2026-03-05T12:00:00+00:00", "actor": "operator",
            "organisation_id": query.get("organisation_id", ORGANISATION_A),
            "region_id": REGION, "purpose": "case_review", "reason": None,
            "action": "household.read", "household_ids": [HOUSEHOLD_A],
            "fields": ["address"], "correlation_id": "c-1",
            "kept_by_enrollment_only": "never in an answer",
        }], "next_after": None}

    def household_counts(self, region_id):
        self.record("household_counts", region_id)
        return {ORGANISATION_A: {"name": "あおば子ども支援", "active": 1}}


class FakeIssuance(Recorder):
    def __init__(self):
        super().__init__()
        self.programs = {REGION: {"region_id": REGION, "name": "星空区こども食堂",
                                  "amount_yen": 3000, "issue_day": 20,
                                  "time_zone": "Asia/Tokyo"}}
        self.failure = None

    def get_program(self, region_id):
        self.record("get_program", region_id)
        if self.failure is not None:
            raise self.failure
        if region_id not in self.programs:
            raise NotFound("program_not_found", f"no program for region {region_id}")
        return self.programs[region_id]

    def upsert_program(self, region_id, data):
        self.record("upsert_program", region_id, data)
        self.programs[region_id] = {"region_id": region_id, **data}
        return self.programs[region_id]

    def start_run(self, region_id, period, **keyed):
        self.record("start_run", region_id, period, **keyed)
        return {"run_id": "run-1", "region_id": region_id, "period": period,
                "status": "completed", "households": 1, "yen_granted": 3000}

    def get_run(self, region_id, period):
        self.record("get_run", region_id, period)
        return {"run_id": "run-1", "region_id": region_id, "period": period}

    def roster_count(self, region_id):
        self.record("roster_count", region_id)
        return 42

    def grant_accounts(self, region_id, period):
        self.record("grant_accounts", region_id, period)
        return {"region_id": region_id, "period": period, "grants": 2, "yen_granted": 6000,
                "run": {"run_id": "run-1", "status": "completed", "households": 2,
                        "yen_granted": 6000}}


class FakeDirectory(Recorder):
    def __init__(self):
        super().__init__()
        self.restaurants = {
            RESTAURANT: self._restaurant(RESTAURANT, "みどり食堂"),
            OTHER_RESTAURANT: self._restaurant(OTHER_RESTAURANT, "うみ亭"),
        }

    @staticmethod
    def _restaurant(restaurant_id, name):
        return {"id": restaurant_id, "region_id": REGION, "organisation_id": ORGANISATION_A,
                "name": name, "name_kana": "ミドリショクドウ", "address": "星空区青葉1-2-3",
                "area": "青葉", "latitude": 35.7, "longitude": 139.7, "phone": "03-1234-5678",
                "opening_hours": {"mon": []}, "flags": [], "status": "active",
                "status_reason": None, "created_at": "2026-03-01T10:00:00+09:00"}

    def get_restaurant(self, restaurant_id):
        self.record("get_restaurant", restaurant_id)
        if restaurant_id not in self.restaurants:
            raise NotFound("restaurant_not_found", f"no restaurant {restaurant_id}")
        return self.restaurants[restaurant_id]

    def list_restaurants(self, region_id, status=None, organisation_id=None):
        self.record("list_restaurants", region_id, status=status,
                    organisation_id=organisation_id)
        return list(self.restaurants.values())

    def nominate_restaurant(self, data):
        self.record("nominate_restaurant", data)
        return {"id": str(uuid.uuid4()), "status": "pending", **data}

    def approve_restaurant(self, restaurant_id):
        self.record("approve_restaurant", restaurant_id)
        return self.get_restaurant(restaurant_id)

    def suspend_restaurant(self, restaurant_id, reason=""):
        self.record("suspend_restaurant", restaurant_id, reason)
        return {**self.get_restaurant(restaurant_id), "status": "suspended"}

    def reinstate_restaurant(self, restaurant_id):
        self.record("reinstate_restaurant", restaurant_id)
        return self.get_restaurant(restaurant_id)

    def nearby_restaurants(self, region_id, criteria):
        self.record("nearby_restaurants", region_id, criteria)
        nearest = [{**restaurant, "distance_m": 100, "open_now": True}
                   for restaurant in self.restaurants.values()]
        return {"region_id": region_id, "time_zone": "Asia/Tokyo",
                "local_time": "2026-03-05T12:00+09:00", "restaurants": nearest}

    def printable_list_csv(self, region_id):
        self.record("printable_list_csv", region_id)
        return "\ufeff地域 / Area,店名 / Name\r\n青葉,みどり食堂\r\n"

    def printable_list_pdf(self, region_id):
        self.record("printable_list_pdf", region_id)
        return base64.b64encode(b"%PDF-1.4 restaurants").decode("ascii")


class FakeRedemption(CareRedemption, Recorder):
    """Answers carry household fields a careless gateway would pass on to the counter."""

    def __init__(self):
        super().__init__()
        self.answer = {
            "outcome": "applied", "redemption_id": "r-1", "bill_yen": 1200, "applied_yen": 1200,
            "pay_at_counter_yen": 0, "balance_yen": 1800,
            "valid_until": "2026-04-01T00:00:00+09:00",
            "message_ja": "1,200円をチケットで支払いました", "message_en": "1,200 yen paid",
            "household_id": HOUSEHOLD_A, "organisation_id": ORGANISATION_A,
            "guardian_name": "山田 花子", "card_number": "4539578763621486",
        }
        self.failure = None

    def redeem(self, data):
        self.record("redeem", data)
        if self.failure is not None:
            raise self.failure
        return self.answer

    def restaurant_statement(self, restaurant_id, month):
        self.record("restaurant_statement", restaurant_id, month)
        return {"restaurant_id": restaurant_id, "restaurant_name": "みどり食堂", "month": month,
                "redemptions": 1, "total_yen": 1200, "pay_at_counter_yen": 300,
                "household_ids": [HOUSEHOLD_A],
                "lines": [{"redemption_id": "r-1", "at": "2026-03-05T12:00:00+09:00",
                           "local_date": "2026-03-05", "bill_yen": 1500, "applied_yen": 1200,
                           "pay_at_counter_yen": 300, "household_id": HOUSEHOLD_A,
                           "organisation_id": ORGANISATION_A}]}

    def region_summary(self, region_id, month):
        self.record("region_summary", region_id, month)
        return {"region_id": region_id, "month": month, "yen_redeemed": 1200,
                "yen_paid_at_counter": 300}

    def get_balance(self, household_id):
        self.record("get_balance", household_id)
        return {"household_id": household_id, "balance_yen": 1800}

    def issue_qr_token(self, household_id):
        self.record("issue_qr_token", household_id)
        return {"token": "qr-token", "expires_at": "2026-03-05T12:02:00+09:00"}

    def history(self, household_id):
        self.record("history", household_id)
        return [{"redemption_id": "r-1", "applied_yen": 1200}]

    def void_redemption(self, restaurant_id, redemption_id, **keyed):
        self.record("void_redemption", restaurant_id, redemption_id, **keyed)
        if self.failure is not None:
            raise self.failure
        return {"outcome": "voided", "redemption_id": redemption_id, "void_id": "v-1",
                "voided_yen": 1200, "balance_yen": 3000, "at": "2026-03-05T12:05:00+09:00",
                "household_id": HOUSEHOLD_A, "organisation_id": ORGANISATION_A}

    def close_statement(self, restaurant_id, month):
        self.record("close_statement", restaurant_id, month)
        return {"restaurant_id": restaurant_id, "month": month,
                "closed_at": "2026-04-02T10:00:00+09:00", "closed_by": "operator",
                "redemptions": 1, "voids": 0, "total_yen": 1200}

    def settlement_csv(self, region_id, month):
        self.record("settlement_csv", region_id, month)
        return ("\ufeffrestaurant_id,restaurant_name,month,redemptions,voids,yen_owed,"
                f"statement_closed_at\r\n{RESTAURANT},みどり食堂,{month},1,0,1200,\r\n")

    def ticket_accounts(self, region_id, period):
        self.record("ticket_accounts", region_id, period)
        return dict(self.accounts, region_id=region_id, period=period)

    # What ticket_accounts answers; a test may change it.
    accounts = {"tickets": 2, "yen_on_tickets": 6000, "redeemed_yen": 2500,
                "voided_yen": 500, "expired_yen": 1000, "open_yen": 3000,
                "accounted_yen": 6000, "balanced": True, "tickets_out_of_balance": 0,
                "tickets_out_of_balance_ids": []}


class FakeNotification(Recorder):
    def register_push_token(self, household_id, token, platform):
        self.record("register_push_token", household_id, token, platform)
        return {"household_id": household_id, "platform": platform,
                "registered_at": "2026-03-10T12:00:00+09:00"}

    def delivery_summary(self, region_id=None):
        self.record("delivery_summary", region_id=region_id)
        return {"region_id": region_id, "total": 3,
                "by_channel": {"email": {"delivered": 3, "failed": 0}}}


class Services:
    """The fakes behind the gateway; ``reset`` gives each test a fresh world."""

    NAMES = ("enrollment", "issuance", "directory", "redemption", "notification")
    KINDS = (FakeEnrollment, FakeIssuance, FakeDirectory, FakeRedemption, FakeNotification)

    def __init__(self):
        self.reset()

    def reset(self):
        for name, kind in zip(self.NAMES, self.KINDS):
            setattr(self, name, kind())

    def switch(self, name):
        return Switch(self, name)


class Switch:
    """What the container holds: it forwards to whichever fake is current for the test."""

    def __init__(self, services, name):
        self._services = services
        self._name = name

    def __getattr__(self, method):
        return getattr(getattr(self._services, self._name), method)


@pytest.fixture(scope="session")
def gateway_database():
    database = MigratedDatabase("gateway", MIGRATIONS, Base.metadata).create()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def running_gateway(gateway_database):
    services = Services()
    config = {
        "AMQP_URI": "pyamqp://guest:guest@127.0.0.1:5672//",
        "DB_URI": gateway_database.uri,
        # Port 0: the kernel picks a free port (above 18100, clear of the platform's ports).
        "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        "GATEWAY_TOKEN_SECRET": SECRET,
        "GATEWAY_RATE_LIMITS": RATE_LIMITS,
        "GATEWAY_FAILED_LOOKUPS_SLOW_AFTER": FAILED_LOOKUPS_SLOW_AFTER,
        "GATEWAY_FAILED_LOOKUPS_DELAY_SECONDS": FAILED_LOOKUPS_DELAY_SECONDS,
        "GATEWAY_CORS_ORIGINS": f"{APP_ORIGIN}, https://staff.shokudo.example/",
    }
    container = ServiceContainer(GatewayService, config)
    replace_dependencies(container, **{name: services.switch(name) for name in Services.NAMES})
    # The RPC proxies are gone; their reply queue listener would still dial RabbitMQ.
    container.subextensions = type(container.subextensions)(
        extension for extension in container.subextensions if isinstance(extension, WebServer)
    )
    container.start()
    [server] = container.subextensions
    port = server._sock.getsockname()[1]
    services.rate_limits = next(extension for extension in container.extensions
                                if isinstance(extension, RateLimits))
    services.tokens = next(extension for extension in container.extensions
                           if isinstance(extension, auth.Tokens))
    yield services, f"http://127.0.0.1:{port}"
    container.stop()


@pytest.fixture
def services(running_gateway, gateway_database):
    services, _ = running_gateway
    services.reset()
    services.rate_limits.reset()
    gateway_database.empty()
    return services


@pytest.fixture
def accounts(gateway_database, services):
    """Staff accounts in the gateway's database: ``accounts.create("aoba", "organisation",
    organisation_id=...)``; every one has the password PASSWORD."""
    db = gateway_database.make_session()

    class Accounts:
        password = PASSWORD

        def create(self, login, role, **scope):
            return staff.create_account(db, login, PASSWORD, role, **scope)

        def disable(self, login):
            staff.set_disabled(db, login, True)

        def set_password(self, login, password):
            staff.set_password(db, login, password)

    yield Accounts()
    db.close()


@pytest.fixture
def gateway(running_gateway, services):
    """A requests session against the running gateway: ``gateway.get("/v1/...")``."""
    _, base_url = running_gateway
    client = Client(base_url)
    yield client
    client.session.close()


class Client:
    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method, path, token=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.base_url + path, headers=headers,
                                    timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)


def _account(name):
    """The staff account id each staff caller signs in with, the same in every test."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"shokudo-test-account:{name}"))


CALLERS = {
    "operator": auth.Caller(auth.OPERATOR),
    "operator_elsewhere": auth.Caller(auth.OPERATOR, region_ids=(OTHER_REGION,)),
    "operator_here": auth.Caller(auth.OPERATOR, region_ids=(REGION,)),
    "organisation_a": auth.Caller(auth.ORGANISATION, organisation_id=ORGANISATION_A),
    "organisation_b": auth.Caller(auth.ORGANISATION, organisation_id=ORGANISATION_B),
    "restaurant": auth.Caller(auth.RESTAURANT, restaurant_id=RESTAURANT),
    "household": auth.Caller(auth.HOUSEHOLD, household_id=HOUSEHOLD_A),
    "household_b": auth.Caller(auth.HOUSEHOLD, household_id=HOUSEHOLD_B),
    "other_restaurant": auth.Caller(auth.RESTAURANT, restaurant_id=OTHER_RESTAURANT),
}
CALLERS = {name: caller if caller.role == auth.HOUSEHOLD
           else dataclasses.replace(caller, staff_id=_account(name))
           for name, caller in CALLERS.items()}


def open_session(db, caller):
    """``caller`` with a live session in the gateway's database, as signing in would leave.

    A staff caller's account is written directly (no password hash worth the time): these
    tokens are made by the tests, not by signing in.
    """
    now = datetime.now(timezone.utc)
    session = GatewaySession(id=str(uuid.uuid4()), created_at=now,
                             expires_at=now + timedelta(hours=12))
    if caller.role == auth.HOUSEHOLD:
        session.kind, session.household_id = "device", caller.household_id
    else:
        if db.get(StaffAccount, caller.staff_id) is None:
            db.add(StaffAccount(id=caller.staff_id, login=caller.staff_id, password_hash="-",
                                role=caller.role, organisation_id=caller.organisation_id,
                                restaurant_id=caller.restaurant_id,
                                region_ids=list(caller.region_ids)))
            db.flush()
        session.kind, session.account_id = "staff", caller.staff_id
    db.add(session)
    db.commit()
    return dataclasses.replace(caller, session_id=session.id)


@pytest.fixture
def token_for(gateway_database, services):
    """``token_for("organisation_a")``: a valid token for one of the CALLERS, its session live
    in the gateway's database."""
    db = gateway_database.make_session()

    def make(name, **kwargs):
        if name is None:
            return None
        caller = open_session(db, CALLERS[name])
        return auth.issue_token(caller, SECRET, **kwargs)["access_token"]

    yield make
    db.close()


@pytest.fixture
def ids():
    """The ids the fakes know, for tests (test modules cannot import this conftest)."""
    return SimpleNamespace(
        region=REGION, organisation_a=ORGANISATION_A, organisation_b=ORGANISATION_B,
        household_a=HOUSEHOLD_A, household_b=HOUSEHOLD_B, restaurant=RESTAURANT,
        other_restaurant=OTHER_RESTAURANT, unknown=UNKNOWN, activation_code=ACTIVATION_CODE,
        secret=SECRET, other_region=OTHER_REGION, password=PASSWORD,
        account={name: caller.staff_id for name, caller in CALLERS.items()},
    )

