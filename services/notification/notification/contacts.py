"""Enrollment's contacts, asked for many households at once when many workers need them.

Every receipt needs its household's contact (to choose the family's channel or the
organisation's notice), and a busy counter sends many receipts at once: one ``get_contacts``
call each was half of what a receipt cost (the call, its reply, enrollment's query and its
access trail). Workers that ask while a call is out wait for the next one, made once for all
of them::

    worker A ── ask [a] ──────────── call [a] ───── answer A ── hand over to B
    worker B ──── ask [b] ── wait ─────────────────────────── call [b, c] ── answer B
    worker C ────── ask [c] ── wait ──────────────────────────────────────── answer C

Nobody waits when nobody else is asking: a call goes out at once when none is out. Each worker
gets the contacts of its own households only. A call that fails fails for every worker of its
batch, as it would have failed for each alone; each handler then retries or parks its fact.
Enrollment records the access once for the batch, under the correlation id of the worker that
made the call, as it already did for the sending timer's batches.
"""

from eventlet.event import Event

from shokudo_common.errors import Unavailable

LEAD, DONE = "lead", "done"


class ContactsDesk:
    """One per process: the call out, and the households waiting for the next one."""

    def __init__(self):
        self._out = False
        self._waiting = []  # (household ids, Event) of the workers waiting for the next call

    def contacts(self, household_ids, ask):
        """The contacts of ``household_ids``; ``ask(ids)`` makes the call, with the caller's
        own RPC proxy (the worker that makes a call makes it for its whole batch)."""
        household_ids = sorted(set(household_ids))
        if not self._out:
            self._out = True
            return self._call([(household_ids, None)], ask)

        arrived = Event()
        self._waiting.append((household_ids, arrived))
        kind, outcome = arrived.wait()
        if kind == LEAD:
            return self._call(outcome, ask)
        return _own(household_ids, *outcome)

    def _call(self, batch, ask):
        """Make one call for ``batch`` (the caller's entry first), hand the desk over, then
        answer the others; returns the caller's own answer."""
        wanted = sorted({household_id for ids, _ in batch for household_id in ids})
        outcome = (None, None)
        try:
            outcome = (ask(wanted), None)
        except Exception as error:  # noqa: BLE001 - every worker of the batch gets it
            outcome = (None, error)
        except BaseException:
            # This worker is being killed or timed out: the others are told to try again.
            outcome = (None, Unavailable("service_unavailable",
                                         "the contacts call was cut short; try again"))
            raise
        finally:
            self._hand_over()
            for _, arrived in batch[1:]:
                arrived.send((DONE, outcome))
        return _own(batch[0][0], *outcome)

    def _hand_over(self):
        """The first waiting worker makes the next call, for everyone waiting now."""
        batch, self._waiting = self._waiting, []
        if not batch:
            self._out = False
            return
        batch[0][1].send((LEAD, batch))


def _own(household_ids, found, error):
    if error is not None:
        raise error
    mine = set(household_ids)
    return [contact for contact in found if contact["household_id"] in mine]
