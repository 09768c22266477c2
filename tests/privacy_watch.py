"""No log of a whole test run holds a family's personal data: checked when the run ends.

Every stack a test starts (tests/conftest.py, ``running_platform``) tells the watch where its
processes log. When a stack stops, the watch reads the households its enrollment kept (names,
kana, phones, emails, addresses: whatever the session's tests enrolled) and scans that stack's
logs at once, before a later stack of the same name could start afresh and remove them. When
the run ends, after every stack has stopped, each log still there is scanned again against
every value seen in the session and every household of demo/data. Any hit fails the run (its
exit status), naming the file, the line and the value.

Values are searched as typed and as the platform or a careless log line might normalise them
(:func:`spellings`), in each line as written and with its JSON decoded (the log formatter
escapes non-ASCII text), with an Aho-Corasick automaton: thousands of values over megabytes of
logs in a second or two.

Only the platform's own processes are read (``<stack>/logs/*.log``); the SMTP sink standing in
for the mail provider is not the platform, and its log is not read.
"""

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import pytest

DATA = Path(__file__).resolve().parents[1] / "demo" / "data"

# Columns of the organisations' exports (demo/data), by their Japanese headers.
NAME, KANA, PHONE, EMAIL, ADDRESS = ("保護者氏名", "保護者氏名（フリガナ）", "電話番号",
                                     "メールアドレス", "住所")
EXPORT_COLUMNS = (NAME, KANA, PHONE, EMAIL, ADDRESS)
# The same values as enrollment keeps them.
HOUSEHOLD_COLUMNS = ("guardian_name", "guardian_name_kana", "phone", "email", "address")

# Shorter forms could match by chance: two kanji of a name, digits of a timestamp, hex of an id.
MIN_LENGTH = 3
MIN_ASCII_LENGTH = 6
MIN_DIGITS = 8


def spellings(value):
    """A value as typed, and as the platform or a careless log might normalise it."""
    narrow = unicodedata.normalize("NFKC", value)
    forms = {value, narrow, narrow.lower(), re.sub(r"\s+", "", narrow),
             narrow.replace("－", "-").replace("ー", "-")}
    if re.fullmatch(r"[\d\-‐－ー()\s]+", narrow):
        forms.add(re.sub(r"\D", "", narrow))  # a phone number as digits only
    return {form for form in forms if _distinctive(form)}


def _distinctive(form):
    if len(form) < MIN_LENGTH:
        return False
    if form.isdigit():
        return len(form) >= MIN_DIGITS
    return not form.isascii() or len(form) >= MIN_ASCII_LENGTH


def personal_values(rows, columns=EXPORT_COLUMNS):
    """Every spelling of the personal fields of ``rows`` (dicts by column name)."""
    values = set()
    for row in rows:
        for column in columns:
            value = row.get(column)
            if isinstance(value, str) and value.strip():
                values |= spellings(value.strip())
    return values


def demo_households():
    """Every household row of every organisation's export in demo/data, in its encoding."""
    rows = []
    for entry in json.loads((DATA / "organisations.json").read_text(encoding="utf-8")):
        sheet = (DATA / entry["csv"]).read_bytes().decode(entry["encoding"])
        rows += list(csv.DictReader(io.StringIO(sheet)))
    return rows


def readable_lines(text):
    """Each line as written and, for a JSON line, with its escaped text decoded."""
    for line in text.splitlines():
        try:
            decoded = json.dumps(json.loads(line), ensure_ascii=False)
        except ValueError:
            decoded = ""
        yield f"{line}\n{decoded}"


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    values: tuple

    def __str__(self):
        return f"{self.path}:{self.line}: {', '.join(self.values)}"


class Scanner:
    """Finds any of ``values`` in text, all at once."""

    def __init__(self, values):
        self.automaton = ahocorasick.Automaton()
        for value in values:
            self.automaton.add_word(value, value)
        self.empty = not values
        if not self.empty:
            self.automaton.make_automaton()

    def found_in(self, text):
        if self.empty:
            return []
        return sorted({value for _, value in self.automaton.iter(text)})

    def leaks_in(self, path):
        """Every line of the file at ``path`` holding a value, with the values it holds."""
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        leaks = []
        for number, line in enumerate(readable_lines(text), start=1):
            found = self.found_in(line)
            if found:
                leaks.append(Leak(str(path), number, tuple(found)))
        return leaks


class LogPrivacyWatch:
    """A pytest plugin: the stacks of a run report to it; it fails the run on any leak."""

    name = "log-privacy-watch"

    def __init__(self, values=()):
        self.values = set(values)
        self.log_dirs = []
        self.leaks = {}
        self.found = None  # the leaks of the run, once it has ended

    def started(self, log_dir):
        if Path(log_dir) not in self.log_dirs:
            self.log_dirs.append(Path(log_dir))

    def stopped(self, log_dir, enrolled_rows):
        """A stack stopped: learn what it enrolled and scan its logs while they are there."""
        self.values |= personal_values(enrolled_rows, HOUSEHOLD_COLUMNS)
        self._scan([Path(log_dir)])

    def _scan(self, log_dirs):
        scanner = Scanner(self.values)
        for log_dir in log_dirs:
            for path in sorted(log_dir.glob("*.log")):
                for leak in scanner.leaks_in(path):
                    self.leaks[(leak.path, leak.line)] = leak

    def check(self):
        """Scan every log of the run against every value; the leaks found, in order."""
        self._scan(self.log_dirs)
        return [self.leaks[key] for key in sorted(self.leaks)]

    # -- pytest -----------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        # trylast: after the session's fixtures are torn down, so every stack has stopped and
        # its last lines are written.
        if not self.log_dirs:
            return
        self.found = self.check()
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        found = self.found
        if found:
            terminalreporter.write_sep("!", "personal data in the logs of this run", red=True)
            for leak in found[:50]:
                terminalreporter.write_line(str(leak), red=True)
            if len(found) > 50:
                terminalreporter.write_line(f"... and {len(found) - 50} more lines")
        elif found is not None:
            terminalreporter.write_line(
                f"log privacy: no personal value in the logs of {len(self.log_dirs)} stacks "
                f"({len(self.values)} spellings searched)")
