"""Household changes and lost cards hold at the counter once the organisation has its answer.

Redemption is stood in for by the ``counter`` fixture (tests/conftest.py); what redemption
does with the facts is tested in services/redemption/tests/test_household_status_rpc.py.
"""

from types import SimpleNamespace

import pytest
from nameko.exceptions import RemoteError
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from shokudo_common.errors import Conflict, InvalidInput, NotFound, Unavailable

from enrollment import domain
from enrollment.counter import CounterUpdates
from enrollment.models import Card, CardReplacement

REGION = "hoshizora-ku"


def organisation_data(name="星空子ども支援ネット"):
    return {"name": name, "region_id": REGION, "contact_email": "office@hoshizora-net.example.jp",
            "contact_phone": "03-9876-5432"}


def household_data(external_ref="H-001", channel="card"):
    return {
        "external_ref": external_ref, "guardian_name": "山田 花子",
        "guardian_name_kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": None,
        "postcode": "160-0022", "address": "星空区青葉1-2-3", "children": 2,
        "channel": channel, "language": "ja",
    }


@pytest.fixture
def organisation(service):
    return service.create_organisation(organisation_data())


@pytest.fixture
def household(service, organisation):
    return service.enrol_household(organisation["id"], household_data())


def staff(organisation):
    return f"organisation:{organisation['id']}"


def without_event_id(fact):
    return {name: value for name, value in fact.items() if name != "event_id"}


def committed(database, query, **params):
    """What another connection sees: only what enrollment has committed."""
    with database.engine.connect() as connection:
        return connection.execute(text(query), params).scalar()


def counted(change, outcome):
    labels = {"change": change, "outcome": outcome}
    return REGISTRY.get_sample_value("shokudo_changes_pushed_to_redemption_total", labels) or 0


# -- suspension, reinstatement, withdrawal -----------------------------------------------------

def test_a_suspension_reaches_the_counter_after_its_commit_and_before_the_answer(
        service, organisation, household, counter, database):
    seen_at_push = []
    counter.on_push = lambda change, fact: seen_at_push.append(committed(
        database, "SELECT status FROM households WHERE id = :id", id=fact["household_id"]))

    suspended = service.suspend_household(organisation["id"], household["id"])

    [announced] = database.outbox_events("household_suspended")
    assert counter.pushed == [("household_status", without_event_id(announced))]
    assert seen_at_push == ["suspended"]
    assert suspended["status"] == "suspended"
    assert suspended["in_force_at_counter"] is True


def test_every_status_change_is_pushed_with_its_version_in_order(
        service, organisation, household, counter):
    service.suspend_household(organisation["id"], household["id"])
    service.reinstate_household(organisation["id"], household["id"])
    service.withdraw_household(organisation["id"], household["id"])

    assert [(change, fact["status"], fact["version"]) for change, fact in counter.pushed] == [
        ("household_status", "suspended", 2),
        ("household_status", "active", 3),
        ("household_status", "withdrawn", 4),
    ]


def test_a_suspension_stands_when_redemption_does_not_answer_and_its_event_follows(
        service, organisation, household, counter, database):
    counter.answers = False

    suspended = service.suspend_household(organisation["id"], household["id"])

    assert suspended["status"] == "suspended"
    assert suspended["in_force_at_counter"] is False
    assert committed(database, "SELECT status FROM households WHERE id = :id",
                     id=household["id"]) == "suspended"
    assert len(database.outbox_events("household_suspended")) == 1


def test_a_refused_change_pushes_nothing(service, organisation, household, counter):
    with pytest.raises(Conflict):
        service.reinstate_household(organisation["id"], household["id"])
    with pytest.raises(NotFound):
        service.suspend_household(organisation["id"], "00000000-0000-4000-8000-000000000000")

    assert counter.pushed == []


# -- lost cards --------------------------------------------------------------------------------

def test_a_lost_card_is_replaced_in_one_audited_step(
        service, organisation, household, database, session):
    replaced = service.replace_card(organisation["id"], household["id"], "lost",
                                    staff(organisation))

    replacement = session.scalars(select(CardReplacement)).one()
    assert (replacement.household_id, replacement.organisation_id) == (
        household["id"], organisation["id"])
    assert (replacement.old_card_number, replacement.new_card_number) == (
        household["card_number"], replaced["card_number"])
    assert (replacement.reason, replacement.replaced_by) == ("lost", staff(organisation))
    assert replacement.replaced_at is not None
    assert replaced["replacement"]["replacement_id"] == replacement.id
    assert replaced["replacement"]["old_card_number"] == household["card_number"]

    [blocked] = database.outbox_events("card_blocked")
    issued = database.outbox_events("card_issued")[-1]
    assert (blocked["card_number"], blocked["replacement_id"]) == (
        household["card_number"], replacement.id)
    assert (issued["card_number"], issued["replacement_id"]) == (
        replaced["card_number"], replacement.id)
    assert issued["region_id"] == REGION
    cards = dict(session.execute(select(Card.card_number, Card.status)).all())
    assert cards == {household["card_number"]: "blocked", replaced["card_number"]: "active"}


def test_a_card_issued_at_enrolment_names_no_replacement(service, household, database):
    [issued] = database.outbox_events("card_issued")

    assert issued["replacement_id"] is None


def test_the_replacement_reaches_the_counter_after_its_commit_and_before_the_answer(
        service, organisation, household, counter, database):
    seen_at_push = []
    counter.on_push = lambda change, blocked, issued: seen_at_push.append(committed(
        database, "SELECT status FROM cards WHERE card_number = :number",
        number=blocked["card_number"]))

    replaced = service.replace_card(organisation["id"], household["id"], "stolen",
                                    staff(organisation))

    [blocked] = database.outbox_events("card_blocked")
    issued = database.outbox_events("card_issued")[-1]
    assert counter.pushed == [
        ("card_replacement", without_event_id(blocked), without_event_id(issued)),
    ]
    assert seen_at_push == ["blocked"]
    assert replaced["in_force_at_counter"] is True


def test_a_replacement_stands_when_redemption_does_not_answer(
        service, organisation, household, counter, database):
    counter.answers = False

    replaced = service.replace_card(organisation["id"], household["id"], "damaged",
                                    staff(organisation))

    assert replaced["in_force_at_counter"] is False
    assert committed(database, "SELECT count(*) FROM card_replacements") == 1
    assert len(database.outbox_events("card_blocked")) == 1


@pytest.mark.parametrize("reason, replaced_by, fields", [
    ("gone", "organisation:x", {"reason"}),
    (None, "  ", {"reason", "replaced_by"}),
])
def test_a_bad_replacement_names_each_bad_field_and_writes_nothing(
        service, organisation, household, counter, database, session,
        reason, replaced_by, fields):
    with pytest.raises(InvalidInput) as raised:
        service.replace_card(organisation["id"], household["id"], reason, replaced_by)

    assert set(raised.value.details["fields"]) == fields
    assert session.scalar(select(func.count()).select_from(CardReplacement)) == 0
    assert database.outbox_events("card_blocked") == []
    assert counter.pushed == []


def test_only_a_card_household_of_ones_own_can_have_its_card_replaced(
        service, organisation, household, counter, database):
    app = service.enrol_household(organisation["id"], household_data("H-002", channel="app"))
    other = service.create_organisation(organisation_data("若葉フードパントリー"))
    service.withdraw_household(organisation["id"], household["id"])
    counter.pushed.clear()

    refusals = []
    for organisation_id, household_id in ((organisation["id"], app["id"]),
                                          (organisation["id"], household["id"]),
                                          (other["id"], household["id"])):
        with pytest.raises((Conflict, NotFound)) as raised:
            service.replace_card(organisation_id, household_id, "lost", staff(organisation))
        refusals.append(raised.value.code)

    assert refusals == ["household_channel_mismatch", "household_withdrawn",
                        "household_not_found"]
    assert committed(database, "SELECT count(*) FROM card_replacements") == 0
    assert counter.pushed == []


def test_a_replacement_sent_again_with_its_key_replaces_once_and_is_pushed_again(
        service, organisation, household, counter, database):
    key = f"{staff(organisation)}:replace-1"
    counter.answers = False
    first = service.replace_card(organisation["id"], household["id"], "lost",
                                 staff(organisation), idempotency_key=key)

    counter.answers = True
    again = service.replace_card(organisation["id"], household["id"], "lost",
                                 staff(organisation), idempotency_key=key)

    assert {**again, "in_force_at_counter": False} == first
    assert again["in_force_at_counter"] is True
    assert committed(database, "SELECT count(*) FROM card_replacements") == 1
    assert len(database.outbox_events("card_blocked")) == 1
    # The same two facts both times: the first push did not get through, the second did.
    assert counter.pushed[0] == counter.pushed[1]


def test_a_replacement_key_sent_with_another_reason_is_refused(
        service, organisation, household, database):
    key = f"{staff(organisation)}:replace-1"
    service.replace_card(organisation["id"], household["id"], "lost", staff(organisation),
                         idempotency_key=key)

    with pytest.raises(Conflict) as raised:
        service.replace_card(organisation["id"], household["id"], "stolen", staff(organisation),
                             idempotency_key=key)

    assert raised.value.code == "idempotency_key_reused"
    assert committed(database, "SELECT count(*) FROM card_replacements") == 1


def test_a_new_card_number_is_always_a_valid_one(service, organisation, household):
    replaced = service.replace_card(organisation["id"], household["id"], "other",
                                    staff(organisation))

    assert domain.is_valid_card_number(replaced["card_number"])
    assert replaced["card_number"] != household["card_number"]


# -- the push itself ---------------------------------------------------------------------------

class Reply:
    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def redemption_answering(outcome):
    """A proxy to redemption whose every method answers ``outcome`` (or raises it)."""
    calls = []

    def method(name):
        def call_async(*args):
            calls.append((name, args))
            return Reply(outcome)
        return SimpleNamespace(call_async=call_async)

    proxy = SimpleNamespace(apply_household_status=method("apply_household_status"),
                            apply_card_replacement=method("apply_card_replacement"))
    return proxy, calls


def test_a_push_that_redemption_applied_is_in_force_and_counted():
    proxy, calls = redemption_answering({"status": "suspended", "version": 2})
    before = counted("household_status", "applied")

    assert CounterUpdates(proxy, timeout=1).household_status({"household_id": "h"}) is True
    assert calls == [("apply_household_status", ({"household_id": "h"},))]
    assert counted("household_status", "applied") == before + 1


@pytest.mark.parametrize("failure", [
    Unavailable("service_unavailable", "redemption did not answer"),
    RemoteError("MethodNotFound", "apply_card_replacement"),
])
def test_a_push_that_failed_is_pending_and_counted_not_raised(failure):
    proxy, _ = redemption_answering(failure)
    before = counted("card_replacement", "pending")

    updates = CounterUpdates(proxy, timeout=1)

    assert updates.card_replacement({"household_id": "h"}, {"household_id": "h"}) is False
    assert counted("card_replacement", "pending") == before + 1
