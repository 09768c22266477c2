"""Requests that change money or state, safe to send again: one effect per idempotency key.

A caller that may never hear the answer (a till on a bad line, a browser that timed out) sends
a key with its request, and the same key with the same request when it tries again. The
service claims the key in the same transaction as the effect and writes the answer down
before it commits::

    claim ── INSERT (scope, key, fingerprint) ON CONFLICT DO NOTHING
               │
               ├─ the key is new ────────────── do the work ── remember(answer) ── COMMIT
               ├─ same request, answered ────── the stored answer; nothing is done again
               └─ another request, same key ─── Conflict idempotency_key_reused

A twin that arrives while the first request is still at work waits on the first one's row
(the primary key) and then reads its answer. A request that ends in a domain error rolls back
and its claim goes with it: nothing is stored, and a retry may still succeed.

In a service method::

    keyed = idempotency.claim(self.db, "enrollment.enrol_household", idempotency_key,
                              {"organisation_id": organisation_id, "details": details})
    if keyed.answered:
        return keyed.answer
    ...  # the effect, in self.db, uncommitted
    answer = keyed.remember(self.db, answer)
    self.db.commit()

Without a key (``None``), ``claim`` checks nothing and ``remember`` hands the answer back.

Work done in several commits (an issuance run) commits the claim with its first step. A key
committed without an answer belongs to a request cut short, or still at work elsewhere: the
same request sent again carries on, so only work that is safe to carry on (a run, which is
unique per region and period) may commit before it remembers.
"""

import hashlib
import json
import logging

from prometheus_client import Counter
from sqlalchemy import text

from shokudo_common.errors import Conflict

log = logging.getLogger(__name__)

REPLAYS = Counter(
    "shokudo_idempotency_key_repeats_total",
    "Requests that carried an idempotency key already seen: answered again, or refused because"
    " the key came with another request",
    ["scope", "outcome"],
)

CLAIM = text(
    "INSERT INTO idempotent_requests (scope, key, fingerprint)"
    " VALUES (:scope, :key, :fingerprint) ON CONFLICT DO NOTHING RETURNING key"
)
EARLIER = text(
    "SELECT fingerprint, answer FROM idempotent_requests WHERE scope = :scope AND key = :key"
)
# The first answer stays: a twin that carried on beside the first request gives the same one.
REMEMBER = text(
    "UPDATE idempotent_requests SET answer = COALESCE(answer, CAST(:answer AS jsonb))"
    " WHERE scope = :scope AND key = :key RETURNING answer"
)


def fingerprint(arguments):
    """sha256 of the arguments' canonical JSON: keys sorted, no spaces, text as it is."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotentRequest:
    """One request under its key, as ``claim`` found it."""

    def __init__(self, scope, key, fingerprint, answer=None):
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.answer = answer

    @property
    def answered(self):
        """An earlier request with this key and these arguments has its answer stored."""
        return self.answer is not None

    def remember(self, session, answer):
        """Stage ``answer`` (a JSON object) with the effect; returns the answer to give.

        That is the stored answer, which is ``answer`` itself unless a twin request stored
        its own first; both then give the same.
        """
        if self.key is None:
            return answer
        stored = session.execute(REMEMBER, {
            "scope": self.scope, "key": self.key,
            "answer": json.dumps(answer, ensure_ascii=False),
        }).scalar_one()
        self.answer = stored
        return stored


def claim(session, scope, key, arguments):
    """Claim ``key`` for the request ``arguments`` in ``scope``, in ``session``'s transaction.

    Returns an :class:`IdempotentRequest`, answered when the same request has been answered
    before. Raises Conflict ``idempotency_key_reused`` when the key came with another request.
    """
    request = IdempotentRequest(scope, key, fingerprint(arguments) if key else None)
    if key is None:
        return request

    params = {"scope": scope, "key": key, "fingerprint": request.fingerprint}
    if session.execute(CLAIM, params).first() is not None:
        return request

    # Taken: by a committed request (or one that just committed, which we waited for).
    earlier = session.execute(EARLIER, params).one()
    if earlier.fingerprint != request.fingerprint:
        REPLAYS.labels(scope, "refused").inc()
        log.info("idempotency key reused for another request", extra={"scope": scope})
        raise Conflict(
            "idempotency_key_reused",
            "this idempotency key was already used for a different request; send a new key"
            " with a new request",
            {"idempotency_key": key},
        )

    request.answer = earlier.answer
    if request.answered:
        REPLAYS.labels(scope, "replayed").inc()
        log.info("request answered again from its idempotency key", extra={"scope": scope})
    return request
