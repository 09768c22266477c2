"""Importing an organisation's spreadsheet: each line is created, updated, unchanged or rejected.

Lines are matched to households by the organisation's own reference number (管理番号). Each
line is applied whole or not at all (a savepoint per line), so good lines import even when
others are rejected. A rejected line says why, column by column, in Japanese and English
(:mod:`enrollment.reasons`). The organisation's cap is checked line by line, counting the
households created by earlier lines, and the report says how many lines went over it. Lines
identical to what is kept write and publish nothing, so the same file imported twice changes
nothing the second time. A line whose 管理番号 belonged to a household that has since moved to
another organisation is rejected (``household_moved``): the family is the other one's now.

A dry run goes through the same steps; the caller rolls the whole transaction back, so the
outcomes are the ones a real import would have now, and nothing is written or published.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from shokudo_common.errors import Conflict, InvalidInput
from shokudo_common.validation import load

from enrollment import domain, reasons
from enrollment.schemas import HouseholdIn, narrow_ref

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, REJECTED)


@dataclass
class LineOutcome:
    line: int
    external_ref: str
    outcome: str
    household_id: str = None
    code: str = None
    errors: dict = None
    reasons: list = None
    changed: list = None
    credentials: dict = field(default_factory=dict)
    channel: str = None

    def as_dict(self, dry_run):
        answer = {"line": self.line, "external_ref": self.external_ref, "outcome": self.outcome}
        # A dry run creates nothing, so it has no id and no code or card to hand out.
        if self.household_id and not (dry_run and self.outcome == CREATED):
            answer["household_id"] = self.household_id
        if self.outcome == REJECTED:
            answer.update(code=self.code, errors=self.errors, reasons=self.reasons)
        if self.changed:
            answer["changed"] = self.changed
        if not dry_run:
            answer.update(self.credentials)
        return answer


class Import:
    """One pass over a sheet for one organisation, whose row the caller has locked."""

    def __init__(self, register, organisation, sheet):
        self.register = register
        self.organisation = organisation
        self.sheet = sheet
        self.active = register.active_households(organisation.id)
        self.active_before = self.active
        self.lines_over_cap = 0

    def run(self):
        lines_of = self._lines_by_ref()
        return [self._apply(row, lines_of) for row in self.sheet.rows]

    def _lines_by_ref(self):
        lines_of = defaultdict(list)
        for row in self.sheet.rows:
            lines_of[narrow_ref(row.values.get("external_ref", ""))].append(row.line)
        return lines_of

    def _apply(self, row, lines_of):
        ref = narrow_ref(row.values.get("external_ref", ""))
        if ref and len(lines_of[ref]) > 1:
            # Which of the lines is right is for the organisation to say, not for us to guess.
            lines = ", ".join(map(str, lines_of[ref]))
            message = f"{ref} appears on lines {lines} of this file"
            return self._rejected(row.line, ref, "duplicate_external_ref",
                                  {"external_ref": [message]},
                                  reasons.for_line("duplicate_external_ref", message, lines=lines))

        existing = self.register.household_by_ref(self.organisation.id, ref) if ref else None
        if existing is None and ref and self.register.moved_out(self.organisation.id, ref):
            # The family moved to another organisation, which keeps it now; a line still
            # listing it in the old sheet must not enrol it a second time.
            message = (f"the household {ref} moved to another organisation;"
                       " it is not enrolled again")
            return self._rejected(row.line, ref, "household_moved", {"row": [message]},
                                  reasons.for_line("household_moved", message, ref=ref))

        details, errors = self._details(row, existing)
        if errors:
            return self._rejected(row.line, ref, "invalid_row", errors,
                                  reasons.for_columns(errors, self.sheet.columns))

        if existing is None:
            return self._create(row.line, details)
        return self._update(row.line, existing, details)

    def _details(self, row, existing):
        """The household the line describes; for a known one, columns absent keep their value."""
        given = dict(row.values)
        if existing is not None:
            given = {**{name: getattr(existing, name) for name in domain.DETAIL_FIELDS}, **given}
        try:
            details, errors = load(HouseholdIn(), given), {}
        except InvalidInput as invalid:
            details, errors = None, dict(invalid.details["fields"])
        errors.update(row.problems)
        return details, errors

    def _create(self, line, details):
        try:
            domain.ensure_room(self.organisation.household_cap, self.active)
        except Conflict as refused:
            self.lines_over_cap += 1
            return self._refused(line, details["external_ref"], refused,
                                 cap=self.organisation.household_cap)

        outcome = self._whole(line, details["external_ref"], self._enrol, details)
        if outcome.outcome == CREATED:
            self.active += 1
        return outcome

    def _enrol(self, line, details):
        household, credentials = self.register.enrol(self.organisation, details)
        return LineOutcome(line, household.external_ref, CREATED, household.id,
                           credentials=credentials, channel=household.channel)

    def _update(self, line, household, details):
        current = {name: getattr(household, name) for name in domain.DETAIL_FIELDS}
        changed = domain.changed_fields(current, details)
        if not changed:
            return LineOutcome(line, household.external_ref, UNCHANGED, household.id)
        return self._whole(line, household.external_ref, self._change, household,
                           {name: details[name] for name in changed})

    def _change(self, line, household, changes):
        credentials = self.register.change_details(household, changes)
        return LineOutcome(line, household.external_ref, UPDATED, household.id,
                           changed=sorted(changes), credentials=credentials)

    def _whole(self, line, ref, write, *args):
        """Run ``write`` inside a savepoint: the line is applied whole or not at all."""
        session = self.register.session
        try:
            with session.begin_nested():
                return write(line, *args)
        except Conflict as refused:
            return self._refused(line, ref, refused)
        except IntegrityError:
            # The database refused the line (a card number drawn twice, a constraint the
            # schema does not know): whatever the line had written is undone with it.
            message = "this line could not be saved; import the file again"
            return self._rejected(line, ref, "row_not_saved", {"row": [message]},
                                  reasons.for_line("row_not_saved", message))

    def _refused(self, line, ref, refused, **facts):
        """A line the register refused whole (a Conflict), with its reason in both languages."""
        return self._rejected(line, ref, refused.code, {"row": [refused.message]},
                              reasons.for_line(refused.code, refused.message, **facts))

    def _rejected(self, line, ref, code, errors, why):
        return LineOutcome(line, ref, REJECTED, code=code, errors=errors, reasons=why)

    def cap_report(self):
        """The cap, the active households before and after, and the lines that went over it."""
        report = {
            "household_cap": self.organisation.household_cap,
            "active_before": self.active_before,
            "active_after": self.active,
            "lines_over_cap": self.lines_over_cap,
        }
        if self.lines_over_cap:
            report["message"] = reasons.over_cap(self.organisation.household_cap,
                                                 self.lines_over_cap)
        return report


def summarise(outcomes, sheet, dry_run, cap):
    summary = {outcome: 0 for outcome in OUTCOMES}
    for line in outcomes:
        summary[line.outcome] += 1
    return {
        "dry_run": dry_run,
        "summary": summary,
        "cap": cap,
        "columns": sheet.columns,
        "rows": [line.as_dict(dry_run) for line in outcomes],
    }
