"""Asking several services at once, from inside one worker.

A region's monthly summary needs three services; asked one after the other, a service that
does not answer would cost the caller three timeouts. Each question runs in its own green
thread and the worker waits for all of them.
"""

import eventlet


def ask_at_once(*questions):
    """Ask several services together: one slow service costs one timeout, not the sum.

    Each green thread keeps its failure to itself and the first one is raised here, in the
    worker: a green thread that dies of an exception is printed raw by eventlet's hub, which
    may also drop the socket listener it was resumed from.
    """
    pile = eventlet.GreenPile()
    for question in questions:
        pile.spawn(_settled, question)
    answers = list(pile)

    for _, failure in answers:
        if failure is not None:
            raise failure
    return [answer for answer, _ in answers]


def _settled(question):
    try:
        return question(), None
    except Exception as failure:  # noqa: BLE001 - raised again by ask_at_once, in the worker
        return None, failure
