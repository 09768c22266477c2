"""Issuance as a nameko service: a thin entrypoint over the domain, the roster and the runs.

Operators set each region's program and may start a run by hand; a timer in every replica
starts the run that is due and finishes runs left half-way. The database, not the number of
replicas, makes every run happen once.
"""

import logging
import time

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from shokudo_common import idempotency
from shokudo_common.clock import Clock
from shokudo_common.db import Database
from shokudo_common.entrypoints import ConfiguredTimer, rpc
from shokudo_common.errors import NotFound, ShokudoError
from shokudo_common.handlers import on_event
from shokudo_common.logs import CorrelationId
from shokudo_common.operations import OperationalEndpoints
from shokudo_common.outbox import Outbox
from shokudo_common.rpc import ServiceRpc
from shokudo_common.validation import load

from issuance import accounts, domain, late, metrics, roster, runs
from issuance.pacing import AnswerWithin
from issuance.models import Program, RosterHousehold
from issuance.schemas import (
    ProgramIn, ProgramOut, RegionRequest, RosterFact, RunOut, RunRequest,
)

log = logging.getLogger(__name__)

timer = ConfiguredTimer.decorator


class IssuanceService(OperationalEndpoints):
    name = "issuance"

    correlation = CorrelationId()
    db = Database()
    outbox = Outbox()
    clock = Clock()
    answer_within = AnswerWithin()
    # Itself, on any replica: a run too large to answer in time is carried on there.
    issuance = ServiceRpc("issuance")

    # -- programs -------------------------------------------------------------------------

    @rpc
    def upsert_program(self, region_id, data):
        """Create or replace a region's program; fields left out take the defaults.

        A change applies to runs opened afterwards: a run keeps the amount and time zone it
        was opened with. Every save announces ``program_updated``.
        """
        body = dict(data, region_id=region_id) if isinstance(data, dict) else data
        fields = load(ProgramIn(), body)
        # Created by the service's clock, which the timer and the due-run gauges read too.
        created = insert(Program).values(**fields, created_at=self.clock.now())
        upsert = created.on_conflict_do_update(
            index_elements=[Program.region_id], set_=dict(fields, updated_at=func.now()),
        ).returning(Program)
        program = self.db.scalars(upsert, execution_options={"populate_existing": True}).one()
        # Redemption keeps each region's time zone, void window and restaurant scope from
        # this fact.
        self.outbox.add(self.db, "program_updated", domain.program_updated(program))
        self.db.commit()
        log.info("program saved", extra={"region_id": program.region_id})
        return ProgramOut().dump(program)

    @rpc
    def get_program(self, region_id):
        return ProgramOut().dump(self._program(region_id))

    @rpc
    def list_programs(self):
        programs = self.db.scalars(select(Program).order_by(Program.region_id)).all()
        return ProgramOut(many=True).dump(programs)

    # -- runs -----------------------------------------------------------------------------

    @rpc
    def start_run(self, region_id, period, idempotency_key=None):
        """Grant every active household of the region one ticket for ``period``, once.

        Calling again returns the same run: finished, or carried on from where it stopped.
        With an ``idempotency_key``, the same call sent again gets the first answer, and the
        key sent with another region or period is refused.

        Grants for at most ``ISSUANCE_ANSWER_WITHIN_SECONDS`` before answering, so that a
        large region's caller is answered before its RPC times out: a run still running then
        is handed to ``continue_run`` on any replica, and answered as it stands.
        """
        request = load(RunRequest(), {"region_id": region_id, "period": period})
        # The key commits with the run's first step; a run cut short and started again with
        # it carries on, as any call for the same run does.
        keyed = idempotency.claim(self.db, "issuance.start_run", idempotency_key,
                                  {"region_id": region_id, "period": period})
        if keyed.answered:
            return keyed.answer

        answer_by = time.monotonic() + self.answer_within
        run = self._carry_out(request["region_id"], request["period"],
                              out_of_time=lambda: time.monotonic() >= answer_by)
        answer = keyed.remember(self.db, RunOut().dump(run))
        self.db.commit()

        if run.status != domain.COMPLETED:
            # Not waited for: should the request be lost, the timer finishes the run.
            self.issuance.send("continue_run", request["region_id"], str(request["period"]))
            log.info("issuance run carried on elsewhere", extra={
                "run_id": run.id, "region_id": run.region_id, "period": run.period,
                "households": run.households,
            })
        return answer

    @rpc
    def continue_run(self, region_id, period):
        """Carry a run that ``start_run`` answered while still running through to the end."""
        run = self._run(region_id, period)
        if run.status != domain.COMPLETED:
            run = runs.carry_out(self.db, self.outbox, run.id, self.clock.now())
        return RunOut().dump(run)

    @rpc
    def get_run(self, region_id, period):
        return RunOut().dump(self._run(region_id, period))

    def _run(self, region_id, period):
        request = load(RunRequest(), {"region_id": region_id, "period": period})
        run = runs.find(self.db, request["region_id"], request["period"])
        if run is None:
            raise NotFound("run_not_found", f"no issuance run for {region_id} in {period}",
                           {"region_id": region_id, "period": period})
        return run

    @rpc
    def grant_accounts(self, region_id, period):
        """The grants of the region for ``period``: issuance's side of the accounts check."""
        request = load(RunRequest(), {"region_id": region_id, "period": period})
        return accounts.grant_accounts(self.db, request["region_id"], request["period"])

    @rpc
    def roster_count(self, region_id):
        """How many households a run of the region would grant if it started now."""
        load(RegionRequest(), {"region_id": region_id})
        return roster.count_active(self.db, region_id)

    @timer("ISSUANCE_TIMER_SECONDS", default=60)
    def start_due_runs(self):
        """Finish runs left running, and start each region's run once its issue day has come.

        Every replica does this; the runs' unique keys and row locks make them take turns.
        """
        now = self.clock.now()
        due = set(runs.unfinished(self.db))
        for program in self.db.scalars(select(Program)).all():
            period = _schedule(program).due_period(now)
            if period is not None:
                due.add((program.region_id, period))

        for region_id, period in sorted(due):
            self._carry_out_on_time(region_id, period)

    def _carry_out_on_time(self, region_id, period):
        try:
            self._carry_out(region_id, period)
        # One region's failure must not keep the others waiting; the next tick retries it.
        except (ShokudoError, SQLAlchemyError) as error:
            self.db.rollback()
            log.error("issuance run not carried out", extra={
                "region_id": region_id, "period": str(period), "error": type(error).__name__,
            })

    def _carry_out(self, region_id, period, out_of_time=lambda: False):
        run = runs.find(self.db, region_id, period)
        if run is None:
            program = self._program(region_id)
            now = self.clock.now()
            domain.ensure_started(_schedule(program), period, now)
            run = runs.open_run(self.db, program, period, now)
        if run.status == domain.COMPLETED:
            return run
        return runs.carry_out(self.db, self.outbox, run.id, self.clock.now(), out_of_time)

    def _program(self, region_id):
        program = self.db.get(Program, str(region_id))
        if program is None:
            raise NotFound("program_not_found", f"no program for region {region_id}",
                           {"region_id": region_id})
        return program

    # -- roster ---------------------------------------------------------------------------

    @on_event("enrollment", "household_enrolled")
    def household_enrolled(self, payload):
        self._update_roster("household_enrolled", payload)

    @on_event("enrollment", "household_suspended")
    def household_suspended(self, payload):
        self._update_roster("household_suspended", payload)

    @on_event("enrollment", "household_reinstated")
    def household_reinstated(self, payload):
        self._update_roster("household_reinstated", payload)

    @on_event("enrollment", "household_withdrawn")
    def household_withdrawn(self, payload):
        self._update_roster("household_withdrawn", payload)

    @on_event("enrollment", "household_moved")
    def household_moved(self, payload):
        """The family moved to another organisation: the roster follows; its grants stay."""
        self._update_roster("household_moved", payload)

    def _update_roster(self, event_type, payload):
        fact = load(RosterFact(), payload)
        # A move makes no household active: the enrolment or reinstatement before it was judged
        # for a late grant. Unless the move is the first the roster hears of the household (its
        # enrolment, older, will then be ignored as stale), so it is judged here instead.
        judged_before = (event_type == "household_moved"
                         and self.db.get(RosterHousehold, fact["household_id"]) is not None)
        household, changed = roster.apply(self.db, event_type, fact)
        if not changed:
            # A late or repeated fact: the roster already holds a newer one. Not an error.
            metrics.STALE_FACTS.labels(event_type).inc()
            log.info("stale household fact ignored", extra={
                "household_id": household.household_id, "event_type": event_type,
                "version": fact["version"], "kept_version": household.version,
            })
            return
        log.info("roster updated", extra={
            "household_id": household.household_id, "region_id": household.region_id,
            "status": household.status, "version": household.version,
        })
        if household.status == domain.ACTIVE and not judged_before:
            # Enrolled or reinstated: after the region's run, the program decides (late.py).
            late.grant_if_late(self.db, self.outbox, household, self.clock.now())


def _schedule(program):
    return domain.Schedule(issue_day=program.issue_day, time_zone=program.time_zone)
