"""Each process of the platform, as production runs it, answers its probes and reports the
state of its own database on /metrics: what Kubernetes, compose and Prometheus rely on."""

import subprocess

import pytest
import requests

from support import metric
from tools import require

REGION = "probe-cho"
COMPONENTS = ("gateway", "directory", "enrollment", "issuance", "redemption", "notification")
SERVICES = COMPONENTS[1:]


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_process_is_live_and_ready(stack, name):
    process = stack.process(name)

    live = requests.get(process.url + "/health/live", timeout=5)
    ready = requests.get(process.url + "/health/ready", timeout=10)

    assert live.status_code == 200
    assert ready.status_code == 200, ready.text
    # The gateway too has a database of its own: staff accounts and sessions.
    assert ready.json()["checks"] == {"broker": "ok", "database": "ok"}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_reports_its_parked_messages_and_outbox_backlog(stack, name):
    exposed = requests.get(stack.process(name).url + "/metrics", timeout=5).text

    for gauge in ("shokudo_parked_messages", "shokudo_outbox_pending_events",
                  "shokudo_outbox_oldest_pending_age_seconds"):
        assert f'{gauge}{{service="{name}"}}' in exposed


def test_issuance_reports_when_each_region_s_due_run_began_and_whether_it_completed(
        stack, operator):
    # Issue day 1 has always begun: this month's run is due, though the region is new.
    operator.put(f"/v1/regions/{REGION}/program", {"name": "プローブ町こども食堂", "issue_day": 1})
    issuance = stack.process("issuance")

    began = metric(issuance, "shokudo_issuance_due_issue_day_start_timestamp_seconds",
                   region_id=REGION)
    exposed = requests.get(issuance.url + "/metrics", timeout=5).text

    assert began > 0
    assert f'shokudo_issuance_due_run_completed{{region_id="{REGION}"}}' in exposed


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_process_reports_its_cpu_memory_and_database_pool(stack, name):
    """What the dashboard's saturation row reads, as each process exposes it."""
    process = stack.process(name)

    assert metric(process, "process_cpu_seconds_total") > 0
    assert metric(process, "process_resident_memory_bytes") > 10_000_000
    assert metric(process, "shokudo_db_pool_max_connections", service=name) == 5
    held = metric(process, "shokudo_db_pool_checked_out_connections", service=name)
    assert 0 <= held <= 5


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_process_s_metrics_follow_prometheus_naming_conventions(stack, operator, name):
    """promtool's lint on what the process really exposes, its business metrics included."""
    # A region with a program, so that issuance's region gauges have samples too.
    operator.put("/v1/regions/lint-cho/program", {"name": "リント町こども食堂", "issue_day": 1})
    exposed = requests.get(stack.process(name).url + "/metrics", timeout=5).text
    assert "# TYPE shokudo_entrypoint_duration_seconds histogram" in exposed

    linted = subprocess.run([require("promtool"), "check", "metrics"], input=exposed,
                            capture_output=True, text=True)

    assert linted.returncode == 0, linted.stdout + linted.stderr
