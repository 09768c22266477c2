"""Carrying out an issuance run against the database: open it once, grant in batches, close it.

Each step is a transaction of its own that holds the run's row lock, so callers that arrive
together (two replicas' timers, an operator repeating a call, a restart after a crash) take
turns batch by batch, and each batch sees what the previous ones committed::

    open     INSERT run ON CONFLICT (region_id, period) DO NOTHING ───────────────── COMMIT
    batch    lock run ─ INSERT grants SELECT … roster after the last batch's household …
                        ON CONFLICT DO NOTHING RETURNING
                      ─ outbox tickets_issued (that batch) ─ add to the run's totals ─ COMMIT
             … until a batch finds nobody left, and one more over the whole roster too …
    close    lock run ─ status completed ─ outbox issuance_run_completed ──────────── COMMIT

Nothing relies on the lock for correctness: the unique (household_id, period) on grants keeps
one grant per household even if two batches raced. The lock keeps the run's totals and its
events in step with the grants.

A household that becomes active once the run is completed is late (see :mod:`issuance.late`).
Each batch, and each roster change that makes a household active, first takes the region's
roster lock, so that a run never closes on a roster change it could not see while that change
still believes the run will grant it: either the batch sees the household, or the change sees
the run completed.
"""

import logging
import uuid

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from shokudo_common.periods import Period, validity_window

from issuance import domain
from issuance.metrics import GRANTED_YEN, GRANTS_ISSUED, RUNS_COMPLETED
from issuance.models import Grant, Run

log = logging.getLogger(__name__)

# Set-based: one statement grants up to a batch of households. The anti-join skips households
# already granted for the period (by this run's earlier batches, or by a run of another region
# they belonged to before moving), so a resumed run carries on where it stopped. ``after`` walks
# the roster in household order (keyset), so that each batch starts where the last one ended
# instead of probing every household granted so far: with '' the batch looks at the whole roster.
# (In the anti-join, ``granted.household_id > :after`` follows from the join; said out loud, it
# lets PostgreSQL start its scan of the grants there too.)
GRANT_NEXT_BATCH = text("""
    INSERT INTO grants (id, run_id, household_id, organisation_id, region_id, period, amount_yen)
    SELECT gen_random_uuid()::text, :run_id, roster.household_id, roster.organisation_id,
           roster.region_id, :period, :amount_yen
      FROM roster
     WHERE roster.region_id = :region_id
       AND roster.status = :active
       AND roster.household_id > :after
       AND NOT EXISTS (SELECT 1 FROM grants AS granted
                        WHERE granted.household_id = roster.household_id
                          AND granted.household_id > :after
                          AND granted.period = :period)
     ORDER BY roster.household_id
     LIMIT :batch_size
    ON CONFLICT (household_id, period) DO NOTHING
    RETURNING id, household_id, organisation_id
""")


# Every household id sorts after the empty string: a batch after it sees the whole roster.
START_OF_ROSTER = ""

# One advisory lock per region (hashtext is 32 bits: another region sharing it only waits).
LOCK_REGION_ROSTER = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


def lock_region_roster(session, region_id):
    """Serialise the region's batches with its roster's activations until commit."""
    session.execute(LOCK_REGION_ROSTER, {"key": f"issuance.roster:{region_id}"})


def find(session, region_id, period):
    query = select(Run).where(Run.region_id == region_id, Run.period == str(period))
    return session.scalars(query).first()


def latest(session, region_id):
    """The region's run of the latest period, whatever its status, or None."""
    query = (select(Run).where(Run.region_id == region_id).order_by(Run.period.desc())
             .limit(1).execution_options(populate_existing=True))
    return session.scalars(query).first()


def unfinished(session):
    """(region_id, period) of every run left running, by a crash or by a worker still at it."""
    query = select(Run.region_id, Run.period).where(Run.status == domain.RUNNING)
    return [(region_id, Period.parse(period)) for region_id, period in session.execute(query)]


def open_run(session, program, period, now):
    """The run of ``program``'s region for ``period``, created if no one created it yet.

    Amount and time zone are copied from the program now, so a run resumed later grants the
    same tickets even if the operator has changed the program in between.
    """
    window = validity_window(period, program.time_zone)
    session.execute(insert(Run).values(
        id=str(uuid.uuid4()),
        region_id=program.region_id,
        period=str(period),
        status=domain.RUNNING,
        amount_yen=program.amount_yen,
        time_zone=program.time_zone,
        valid_from=window.starts_at,
        valid_until=window.ends_at,
        households=0,
        yen_granted=0,
        started_at=now,
    ).on_conflict_do_nothing(index_elements=["region_id", "period"]))
    session.commit()
    return find(session, program.region_id, period)


def carry_out(session, outbox, run_id, now, out_of_time=lambda: False):
    """Grant batch after batch until nobody is left, then close the run. Returns the run.

    The batches walk the roster in household order from where the last one ended. Before
    closing, one batch looks at the whole roster again: it finds whoever became active behind
    the walk (a household with a lower id, enrolled while the run was granting), so the run
    still closes only when a look at every household, under the roster lock, finds nobody.

    ``out_of_time()`` is asked after each committed batch: once it says so, the run is
    returned still running, to be carried on later from where it stands.
    """
    region_id = session.get(Run, run_id).region_id
    after = START_OF_ROSTER
    while True:
        lock_region_roster(session, region_id)
        run = _lock(session, run_id)
        if run.status == domain.COMPLETED:
            # Someone else closed it while we waited for the lock; end our empty transaction.
            session.commit()
            return run

        grants = _grant_next_batch(session, run, after)
        if grants:
            _add_batch(session, outbox, run, grants)
            after = max(grant.household_id for grant in grants)
            if out_of_time():
                return run
        elif after != START_OF_ROSTER:
            after = START_OF_ROSTER  # the end of the walk: look at the whole roster once more
        else:
            _close(session, outbox, run, now)
            return run


def _lock(session, run_id):
    return session.get(Run, run_id, with_for_update=True, populate_existing=True)


def _grant_next_batch(session, run, after):
    return session.execute(GRANT_NEXT_BATCH, {
        "run_id": run.id,
        "region_id": run.region_id,
        "after": after,
        "period": run.period,
        "amount_yen": run.amount_yen,
        "active": domain.ACTIVE,
        "batch_size": domain.BATCH_SIZE,
    }).all()


def _add_batch(session, outbox, run, grants):
    yen = len(grants) * run.amount_yen
    run.households += len(grants)
    run.yen_granted += yen
    outbox.add(session, "tickets_issued", tickets_issued(run, grants))
    session.commit()

    GRANTS_ISSUED.labels(run.region_id).inc(len(grants))
    GRANTED_YEN.labels(run.region_id).inc(yen)
    log.info("tickets issued", extra={
        "run_id": run.id, "region_id": run.region_id, "period": run.period,
        "grants": len(grants), "yen": yen,
    })


def add_late_grant(session, outbox, run, household):
    """The completed ``run``'s grant for a household that became active after it; None if the
    household holds one for the period already. The caller's transaction commits.

    A normal grant of the run (its amount, its window), announced as a tickets_issued batch of
    one and counted in the run's totals, so that the run's figures stay the sum of its grants.
    """
    grant = session.execute(insert(Grant).values(
        id=str(uuid.uuid4()), run_id=run.id, household_id=household.household_id,
        organisation_id=household.organisation_id, region_id=run.region_id,
        period=run.period, amount_yen=run.amount_yen,
    ).on_conflict_do_nothing(index_elements=["household_id", "period"]).returning(
        Grant.id, Grant.household_id, Grant.organisation_id)).first()
    if grant is None:
        return None

    run = _lock(session, run.id)
    run.households += 1
    run.yen_granted += run.amount_yen
    outbox.add(session, "tickets_issued", tickets_issued(run, [grant]))
    return grant


def _close(session, outbox, run, now):
    run.status = domain.COMPLETED
    run.completed_at = now
    outbox.add(session, "issuance_run_completed", {
        "run_id": run.id,
        "region_id": run.region_id,
        "period": run.period,
        "households": run.households,
        "yen_granted": run.yen_granted,
    })
    session.commit()

    RUNS_COMPLETED.labels(run.region_id).inc()
    log.info("issuance run completed", extra={
        "run_id": run.id, "region_id": run.region_id, "period": run.period,
        "households": run.households, "yen_granted": run.yen_granted,
    })


def tickets_issued(run, grants):
    """The event for one batch: enough for redemption to open balances and for notification
    to tell households, with the window both as instants and as local dates."""
    window = validity_window(Period.parse(run.period), run.time_zone)
    return {
        "run_id": run.id,
        "region_id": run.region_id,
        "period": run.period,
        "amount_yen": run.amount_yen,
        "time_zone": run.time_zone,
        "valid_from": window.starts_at.isoformat(),
        "valid_until": window.ends_at.isoformat(),
        "first_day": window.first_day.isoformat(),
        "last_day": window.last_day.isoformat(),
        "grants": [
            {"grant_id": grant.id, "household_id": grant.household_id,
             "organisation_id": grant.organisation_id}
            for grant in grants
        ],
    }
