"""Importing an organisation's spreadsheet: every line is created, updated, unchanged or failed.

Lines are matched to households by the organisation's own reference number (管理番号). Each
line is applied whole or not at all (a savepoint per line), so good lines import even when
others fail. The organisation's cap is checked line by line, counting the households created
by earlier lines. Lines identical to what is kept write and publish nothing, so the same file
imported twice changes nothing the second time.

A dry run goes through the same steps; the caller rolls the whole transaction back, so the
outcomes are the ones a real import would have now, and nothing is written or published.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from shokudo_common.errors import Conflict, InvalidInput
from shokudo_common.validation import load

from enrollment import domain
from enrollment.schemas import HouseholdIn, narrow_ref

CREATED, UPDATED, UNCHANGED, FAILED = "created", "updated", "unchanged", "failed"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, FAILED)


@dataclass
class LineOutcome:
    line: int
    external_ref: str
    outcome: str
    household_id: str = None
    code: str = None
    errors: dict = None
    changed: list = None
    credentials: dict = field(default_factory=dict)
    channel: str = None

    def as_dict(self, dry_run):
        answer = {"line": self.line, "external_ref": self.external_ref, "outcome": self.outcome}
        # A dry run creates nothing, so it has no id and no code or card to hand out.
        if self.household_id and not (dry_run and self.outcome == CREATED):
            answer["household_id"] = self.household_id
        if self.outcome == FAILED:
            answer.update(code=self.code, errors=self.errors)
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
            return self._failed(row.line, ref, "duplicate_external_ref", {
                "external_ref": [f"{ref} appears on lines {lines} of this file"],
            })

        existing = self.register.household_by_ref(self.organisation.id, ref) if ref else None
        details, errors = self._details(row, existing)
        if errors:
            return self._failed(row.line, ref, "invalid_row", errors)

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
            return self._failed(line, details["external_ref"], refused.code,
                                {"row": [refused.message]})

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
            return self._failed(line, ref, refused.code, {"row": [refused.message]})
        except IntegrityError:
            # The database refused the line (a card number drawn twice, a constraint the
            # schema does not know): whatever the line had written is undone with it.
            return self._failed(line, ref, "row_not_saved", {
                "row": ["this line could not be saved; import the file again"],
            })

    def _failed(self, line, ref, code, errors):
        return LineOutcome(line, ref, FAILED, code=code, errors=errors)


def summarise(outcomes, sheet, dry_run):
    summary = {outcome: 0 for outcome in OUTCOMES}
    for line in outcomes:
        summary[line.outcome] += 1
    return {
        "dry_run": dry_run,
        "summary": summary,
        "columns": sheet.columns,
        "rows": [line.as_dict(dry_run) for line in outcomes],
    }
