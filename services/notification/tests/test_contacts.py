"""Workers asking for contacts at the same time share one call to enrollment."""

import eventlet
import pytest

from shokudo_common.errors import Unavailable

from notification.contacts import ContactsDesk


class SlowEnrollment:
    """get_contacts taking a little while, as over RPC; remembers each call."""

    def __init__(self, fail_on_call=None):
        self.calls = []
        self.fail_on_call = fail_on_call

    def get_contacts(self, household_ids):
        self.calls.append(list(household_ids))
        eventlet.sleep(0.05)
        if len(self.calls) == self.fail_on_call:
            raise Unavailable("service_unavailable", "enrollment did not answer")
        return [{"household_id": household_id, "email": f"{household_id}@example.org"}
                for household_id in household_ids]


def ask_at_once(desk, enrollment, *asks):
    workers = []
    for household_ids in asks:
        workers.append(eventlet.spawn(desk.contacts, household_ids, enrollment.get_contacts))
        eventlet.sleep(0)  # each starts asking before the next one comes
    return workers


def test_workers_asking_while_a_call_is_out_share_the_next_call():
    desk, enrollment = ContactsDesk(), SlowEnrollment()

    first, second, third = ask_at_once(desk, enrollment, ["a"], ["b", "c"], ["c", "d"])

    assert [c["household_id"] for c in first.wait()] == ["a"]
    assert [c["household_id"] for c in second.wait()] == ["b", "c"]
    assert [c["household_id"] for c in third.wait()] == ["c", "d"]
    assert enrollment.calls == [["a"], ["b", "c", "d"]]


def test_a_worker_alone_asks_at_once_each_time():
    desk, enrollment = ContactsDesk(), SlowEnrollment()

    desk.contacts(["a"], enrollment.get_contacts)
    desk.contacts(["b", "a", "b"], enrollment.get_contacts)

    assert enrollment.calls == [["a"], ["a", "b"]]


def test_a_failed_call_fails_for_every_worker_of_its_batch_and_the_desk_carries_on():
    desk, enrollment = ContactsDesk(), SlowEnrollment(fail_on_call=2)

    first, second, third = ask_at_once(desk, enrollment, ["a"], ["b"], ["c"])

    assert first.wait()
    for worker in (second, third):
        with pytest.raises(Unavailable):
            worker.wait()
    assert [c["household_id"] for c in desk.contacts(["d"], enrollment.get_contacts)] == ["d"]
