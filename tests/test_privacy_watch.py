"""The watch over a whole run's logs finds a planted value, names its file and line, and fails
the run's exit status; a clean run passes. No stack: the logs are written here."""

import json
import subprocess
import sys
from pathlib import Path

from privacy_watch import (
    HOUSEHOLD_COLUMNS, LogPrivacyWatch, Scanner, demo_households, personal_values, spellings,
)

HERE = Path(__file__).resolve().parent
GUARDIAN = {"guardian_name": "橋本　理恵", "guardian_name_kana": "ハシモト　リエ",
            "phone": "03-1421-7417", "email": "rie.hashimoto@example.net",
            "address": "星空区星見町1丁目3-6"}


def log_file(folder, *lines):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gateway-0.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_value_is_searched_as_typed_and_as_a_log_might_normalise_it():
    assert {"橋本　理恵", "橋本 理恵", "橋本理恵"} <= spellings("橋本　理恵")
    assert {"03-1421-7417", "0314217417"} <= spellings("０３－１４２１－７４１７")
    # Too short to tell from a timestamp, a hex id or two kanji of any text.
    assert spellings("山田") == set() and spellings("123") == set() and spellings("abc") == set()


def test_every_household_of_demo_data_is_searched_for():
    rows = demo_households()

    assert len(rows) > 500
    assert "長谷川　沙織" in personal_values(rows)
    assert "saori.hasegawa69@example.net" in personal_values(rows)


def test_a_planted_value_is_found_in_an_escaped_json_line_and_named_by_file_and_line(tmp_path):
    escaped = json.dumps({"message": "enrolled", "name": "橋本　理恵"})  # \\u6a4b...
    path = log_file(tmp_path, '{"message": "started"}', escaped, "Traceback: 0314217417")

    leaks = Scanner(personal_values([GUARDIAN], HOUSEHOLD_COLUMNS)).leaks_in(path)

    assert [(leak.line, leak.values) for leak in leaks] == [
        (2, ("橋本　理恵",)), (3, ("0314217417",))]
    assert str(leaks[0]).startswith(f"{path}:2: ")


def test_a_stack_s_logs_are_scanned_when_it_stops_so_a_fresh_start_cannot_hide_them(tmp_path):
    logs = tmp_path / "stack" / "logs"
    log_file(logs, '{"message": "receipt for rie.hashimoto@example.net"}')
    watch = LogPrivacyWatch()
    watch.started(logs)

    watch.stopped(logs, [GUARDIAN])
    (logs / "gateway-0.log").unlink()  # the next stack of the same name starts afresh

    [leak] = watch.check()
    assert leak.values == ("rie.hashimoto@example.net",)


def test_a_run_whose_logs_hold_personal_data_fails_and_a_clean_one_passes(tmp_path):
    assert run_watched(tmp_path / "clean", '{"message": "grant issued"}') == 0

    leaked = tmp_path / "leaked"
    assert run_watched(leaked, '{"message": "hello 橋本理恵"}') == 1
    assert f"{leaked / 'logs' / 'gateway-0.log'}:1: 橋本理恵" in (leaked / "out.txt").read_text()


def run_watched(folder, line):
    """A pytest run of one passing test, with a watch over a stack whose log holds ``line``."""
    log_file(folder / "logs", line)
    (folder / "conftest.py").write_text(
        "from privacy_watch import LogPrivacyWatch\n"
        f"WATCH = LogPrivacyWatch({sorted(spellings('橋本　理恵'))!r})\n"
        "def pytest_configure(config):\n"
        "    WATCH.started(r'" + str(folder / "logs") + "')\n"
        "    config.pluginmanager.register(WATCH, 'watch')\n")
    (folder / "test_nothing.py").write_text("def test_passes():\n    assert True\n")
    (folder / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nameko",
         "--rootdir", str(folder), "-c", str(folder / "pytest.ini"), str(folder)],
        cwd=folder, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(HERE), "PATH": "/usr/bin:/bin"})
    (folder / "out.txt").write_text(done.stdout + done.stderr)
    return done.returncode
