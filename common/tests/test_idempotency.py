"""Idempotency keys against the real PostgreSQL: one effect per key, the same answer every time.

A stand-in operation writes a note, as a service method would write its effect, and answers
with the note's id. Nothing here needs RabbitMQ.
"""

import threading

import eventlet
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from shokudo_common import idempotency
from shokudo_common.errors import Conflict

from plumbing_models import Note

SCOPE = "plumbing.write_note"


class NoteRefused(Conflict):
    """A domain error raised after the effect was written, before the commit."""


def write_note(session, key, note, before_commit=lambda: None):
    """What a service method does: claim, effect, remember, commit."""
    request = idempotency.claim(session, SCOPE, key, {"note": note})
    if request.answered:
        return request.answer

    row = Note(text=note)
    session.add(row)
    session.flush()
    answer = request.remember(session, {"note_id": row.id, "text": note})
    before_commit()
    session.commit()
    return answer


@pytest.fixture
def sessions(engine):
    """New sessions on the test database, each standing for one worker; closed at the end."""
    make = sessionmaker(bind=engine, expire_on_commit=False)
    opened = []

    def open_session():
        session = make()
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


def in_worker(sessions, key, note, **options):
    """One request in a worker of its own; a failure rolls back, as the worker's end does."""
    session = sessions()
    try:
        return write_note(session, key, note, **options)
    finally:
        session.rollback()


def notes(engine):
    with engine.connect() as connection:
        return connection.execute(select(Note.text).order_by(Note.id)).scalars().all()


def stored_keys(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM idempotent_requests")).scalar()


def replays(outcome):
    labels = {"scope": SCOPE, "outcome": outcome}
    return REGISTRY.get_sample_value("shokudo_idempotency_key_repeats_total", labels) or 0


# -- one request after the other ---------------------------------------------------------


def test_the_same_key_and_request_gets_the_same_answer_and_has_its_effect_once(
        sessions, engine):
    replayed = replays("replayed")

    first = in_worker(sessions, "till-1", "rice ball")
    again = in_worker(sessions, "till-1", "rice ball")

    assert again == first
    assert notes(engine) == ["rice ball"]
    assert replays("replayed") == replayed + 1


def test_the_same_key_with_another_request_is_refused_naming_the_key(sessions, engine):
    in_worker(sessions, "till-1", "rice ball")
    refused = replays("refused")

    with pytest.raises(Conflict) as raised:
        in_worker(sessions, "till-1", "miso soup")

    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.details == {"idempotency_key": "till-1"}
    assert notes(engine) == ["rice ball"]
    assert replays("refused") == refused + 1


def test_keys_are_kept_apart_by_scope(sessions, engine):
    in_worker(sessions, "till-1", "rice ball")
    session = sessions()

    other = idempotency.claim(session, "plumbing.other_operation", "till-1", {"note": "x"})

    assert not other.answered
    session.rollback()


def test_without_a_key_every_request_has_its_effect_and_nothing_is_stored(sessions, engine):
    first = in_worker(sessions, None, "rice ball")
    second = in_worker(sessions, None, "rice ball")

    assert first != second
    assert notes(engine) == ["rice ball", "rice ball"]
    assert stored_keys(engine) == 0


def test_the_fingerprint_ignores_the_order_of_fields_but_not_their_values():
    same = idempotency.fingerprint({"bill_yen": 800, "card": "4539"})

    assert idempotency.fingerprint({"card": "4539", "bill_yen": 800}) == same
    assert idempotency.fingerprint({"bill_yen": 801, "card": "4539"}) != same
    assert idempotency.fingerprint({"bill_yen": "800", "card": "4539"}) != same


def test_a_request_that_ends_in_a_domain_error_stores_nothing_and_may_succeed_later(
        sessions, engine):
    def refuse():
        raise NoteRefused("note_refused", "not today")

    with pytest.raises(NoteRefused):
        in_worker(sessions, "till-1", "rice ball", before_commit=refuse)
    assert stored_keys(engine) == 0

    answer = in_worker(sessions, "till-1", "rice ball")

    assert answer["text"] == "rice ball"
    assert notes(engine) == ["rice ball"]


def test_a_request_cut_short_after_committing_its_claim_carries_on_with_the_same_request(
        sessions, engine):
    # What work done in several commits leaves when its process dies before remembering.
    session = sessions()
    idempotency.claim(session, SCOPE, "run-1", {"note": "rice ball"})
    session.commit()

    with pytest.raises(Conflict):
        in_worker(sessions, "run-1", "miso soup")
    answer = in_worker(sessions, "run-1", "rice ball")

    assert in_worker(sessions, "run-1", "rice ball") == answer
    assert notes(engine) == ["rice ball"]


# -- twins at the same moment ------------------------------------------------------------


def waiting_on_a_lock(engine):
    """How many sessions of the test database wait for another's lock right now."""
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar()


def wait_for(probe, timeout=10):
    with eventlet.Timeout(timeout):
        while not probe():
            eventlet.sleep(0.01)


class Twins:
    """A first request held just before its commit while a twin with the same key arrives."""

    def __init__(self, sessions, engine):
        self.sessions = sessions
        self.engine = engine
        self.first_ready = threading.Event()
        self.release_first = threading.Event()
        self.answers = {}

    def run(self, key, first_note, twin_note, first_fails=False):
        first = threading.Thread(target=self._first, args=(key, first_note, first_fails))
        first.start()
        self.first_ready.wait(timeout=10)

        twin = threading.Thread(target=self._request, args=("twin", key, twin_note))
        twin.start()
        # The twin is inside the database, waiting on the first request's claim.
        wait_for(lambda: waiting_on_a_lock(self.engine) == 1)
        self.release_first.set()

        first.join(timeout=10)
        twin.join(timeout=10)
        return self.answers

    def _first(self, key, note, fails):
        def hold():
            self.first_ready.set()
            self.release_first.wait(timeout=10)
            if fails:
                raise NoteRefused("note_refused", "not today")

        self._request("first", key, note, before_commit=hold)

    def _request(self, name, key, note, **options):
        try:
            self.answers[name] = in_worker(self.sessions, key, note, **options)
        except Conflict as error:
            self.answers[name] = error


def test_a_twin_sent_while_the_first_is_at_work_waits_and_gets_its_answer(sessions, engine):
    answers = Twins(sessions, engine).run("till-1", "rice ball", "rice ball")

    assert answers["twin"] == answers["first"]
    assert notes(engine) == ["rice ball"]


def test_a_twin_with_another_request_is_refused_once_the_first_has_committed(
        sessions, engine):
    answers = Twins(sessions, engine).run("till-1", "rice ball", "miso soup")

    assert answers["first"]["text"] == "rice ball"
    assert answers["twin"].code == "idempotency_key_reused"
    assert notes(engine) == ["rice ball"]


def test_a_twin_does_the_work_when_the_first_ends_in_a_domain_error(sessions, engine):
    answers = Twins(sessions, engine).run("till-1", "rice ball", "rice ball", first_fails=True)

    assert answers["first"].code == "note_refused"
    assert answers["twin"]["text"] == "rice ball"
    assert notes(engine) == ["rice ball"]


def test_many_requests_with_one_key_at_once_have_one_effect_and_one_answer(sessions, engine):
    together = threading.Barrier(8)
    answers = []

    def request():
        together.wait(timeout=10)
        answers.append(in_worker(sessions, "till-1", "rice ball"))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert len(answers) == 8
    assert all(answer == answers[0] for answer in answers)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Note)).scalar() == 1
