"""A check of deploy/ whose tool is missing skips on a developer's machine and fails under CI."""

import pytest
from _pytest.outcomes import Failed, Skipped

import tools
from shokudo_common import testing


@pytest.mark.parametrize("environ, uid, expected", [
    ({}, 1000, False),
    ({"CI": "true"}, 1000, True),
    ({"CI": "1"}, 1000, True),
    ({"CI": "false"}, 1000, False),
    ({}, 0, True),  # .ci/run runs as root
])
def test_ci_is_told_by_its_variable_or_by_running_as_root(environ, uid, expected):
    assert testing.under_ci(environ, uid) is expected


@pytest.mark.parametrize("ci, outcome", [(False, Skipped), (True, Failed)])
def test_a_missing_tool_skips_its_checks_except_under_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr(tools.shutil, "which", lambda tool: None)
    monkeypatch.setattr(testing, "under_ci", lambda: ci)

    with pytest.raises(outcome, match="promtool is not installed"):
        tools.require("promtool")


def test_a_tool_on_the_machine_is_found(monkeypatch):
    monkeypatch.setattr(tools.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    assert tools.require("kubectl") == "/usr/bin/kubectl"
