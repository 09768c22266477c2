import eventlet
import pytest
from eventlet.event import Event

from shokudo_common.errors import Unavailable

from gateway.asking import ask_at_once


def test_questions_are_asked_together_and_answered_in_order():
    second_asked = Event()

    def first():
        second_asked.wait()     # waits forever if the questions were asked one by one
        return "households"

    def second():
        second_asked.send()
        return "redemptions"

    with eventlet.Timeout(5):
        assert ask_at_once(first, second) == ["households", "redemptions"]


def test_a_failing_question_fails_the_whole_after_the_others_were_answered():
    answered = []

    def fails():
        raise Unavailable("service_unavailable", "no answer", {"service": "redemption"})

    def answers():
        answered.append("notifications")
        return {}

    with pytest.raises(Unavailable):
        ask_at_once(fails, answers)
    assert answered == ["notifications"]
