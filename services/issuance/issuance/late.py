"""Households that become active after their region's run: the grant they missed, or none yet.

A household enrolled (or reinstated) once its region's run for the latest period has
completed was not on the roster when the run granted. The program's ``late_enrolment``
setting, as it stands when the household becomes active, decides what it gets:

- ``grant_now``: that run's grant, usable in the same window as everyone else's;
- ``next_period``: nothing now; the next run grants it as it grants everyone.

Either way exactly once. The late grant is written in the same transaction as the roster
change that made the household active, as a normal grant of the run (unique per household and
period), announced through the outbox as a ``tickets_issued`` batch of one. A duplicate or
late event changes nothing in the roster and so grants nothing; a reinstated household that
already holds the period's grant is not granted again (the unique key).

The region's roster lock (see :mod:`issuance.runs`) is held from before the latest run is
read until the commit, so a run cannot close on this household while it is judged "not late".
"""

import logging

from prometheus_client import Counter

from issuance import domain, runs
from issuance.metrics import GRANTED_YEN, GRANTS_ISSUED
from issuance.models import Program

log = logging.getLogger(__name__)

LATE_ENROLMENTS = Counter(
    "shokudo_late_enrolments_total",
    "Households that became active after their region's latest run had completed, by what"
    " they got: granted (that run's grant), next_period (wait for the next run),"
    " window_closed (the run's tickets can no longer be used), already_granted",
    ["region_id", "outcome"],
)


def grant_if_late(session, outbox, household, now):
    """Judge a household that has just become active; grant it late if the program says so.

    Runs inside the roster handler's transaction, which commits. Returns the outcome
    (``domain.IN_RUN``, ``GRANTED``, ``DEFERRED``, ``WINDOW_CLOSED``) or ``"already_granted"``.
    """
    runs.lock_region_roster(session, household.region_id)
    run = runs.latest(session, household.region_id)
    outcome = domain.late_grant(
        run.status if run else None, run.valid_until if run else None,
        _late_enrolment(session, household.region_id), now,
    )
    if outcome == domain.IN_RUN:
        return outcome

    if outcome == domain.GRANTED and runs.add_late_grant(session, outbox, run, household) is None:
        outcome = "already_granted"
    _record(run, household, outcome)
    return outcome


def _late_enrolment(session, region_id):
    program = session.get(Program, region_id)
    return program.late_enrolment if program else domain.DEFAULT_LATE_ENROLMENT


def _record(run, household, outcome):
    # Counted before the handler's commit: a commit that fails and is retried counts twice.
    # Acceptable for a rate; the grants table is the account.
    LATE_ENROLMENTS.labels(run.region_id, outcome).inc()
    if outcome == domain.GRANTED:
        GRANTS_ISSUED.labels(run.region_id).inc()
        GRANTED_YEN.labels(run.region_id).inc(run.amount_yen)
    log.info("late household judged", extra={
        "household_id": household.household_id, "region_id": run.region_id,
        "run_id": run.id, "period": run.period, "outcome": outcome,
    })
