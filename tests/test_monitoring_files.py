"""The alert rules, their unit tests and the dashboard: checked by the tools that will run them.

promtool comes from Debian's `prometheus` package, which `make test` installs through
scripts/infra.sh where it may (as root, in CI). Without it the promtool tests skip, saying so,
on a developer's machine and fail under CI (tests/tools.py).
"""

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import yaml

from tools import require

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARD_CODE = ROOT / "deploy" / "grafana" / "dashboard.py"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
SERVICE_MODULES = ("gateway.service", "directory.service", "enrollment.service",
                   "issuance.service", "redemption.service", "notification.service")


def promtool(*arguments, given=None):
    return subprocess.run([require("promtool"), *arguments], capture_output=True, text=True,
                          cwd=ROOT, input=given)


def test_the_alert_rules_are_valid():
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_unit_tests():
    assert RULE_TESTS
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_config_and_its_rule_files_are_valid():
    result = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


class EverySampled:
    """The default registry's families, each with a sample: promtool lints only the names of
    samples, and a labelled metric has none until the code first counts something in it."""

    SUFFIXES = {"counter": ("_total",), "histogram": ("_count", "_sum"),
                "summary": ("_count", "_sum")}

    def collect(self):
        from prometheus_client import REGISTRY

        for family in REGISTRY.collect():
            if not family.samples:
                for suffix in self.SUFFIXES.get(family.type, ("",)):
                    family.add_sample(family.name + suffix, {}, 0)
            yield family


def test_every_metric_the_code_declares_follows_prometheus_naming_conventions():
    """promtool's lint of every metric of every component, as one process would expose them
    (tests/test_operations_endpoints.py lints each real process's /metrics too)."""
    from prometheus_client import generate_latest

    for module in SERVICE_MODULES:
        importlib.import_module(module)
    exposed = generate_latest(EverySampled()).decode()
    # Sampled whether or not earlier tests of this process counted a decline already.
    assert re.search(r"^shokudo_redemptions_declined_total\b", exposed, re.MULTILINE)

    linted = promtool("check", "metrics", given=exposed)

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_every_alert_is_unit_tested_and_has_a_runbook_entry():
    alerts = {rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    tested = {case["alertname"] for path in RULE_TESTS
              for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    runbook = (ROOT / "deploy" / "README.md").read_text()
    assert alerts - tested == set()
    assert [alert for alert in alerts if f"`{alert}`" not in runbook] == []


def watched_jobs():
    """The components the alerts know by `job`, which every scrape must set alike."""
    names, = set(re.findall(r'job=~"([a-z|]+)"', ALERTS.read_text()))
    return set(names.split("|"))


def test_every_aggregation_of_the_rules_keeps_the_namespace():
    """One namespace per region: a rule that sums over it hides one region behind another."""
    expressions = [rule["expr"] for group in yaml.safe_load(ALERTS.read_text())["groups"]
                   for rule in group["rules"]]
    clauses = [clause for expr in expressions
               for clause in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr)]
    assert len(clauses) > 10
    assert [c for c in clauses if "namespace" not in re.split(r"[\s,]+", c)] == []
    bare = [expr for expr in expressions
            if re.search(r"\b(sum|max|min|avg|count|group)\s*\(", expr)]
    assert bare == [], "an aggregation without `by (namespace, ...)`"


def test_compose_gives_every_target_a_namespace_as_kubernetes_does():
    jobs = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]
    for job in jobs:
        assert {"target_label": "namespace", "replacement": "compose"} in \
            job["relabel_configs"], job["job_name"]
    assert watched_jobs() <= {job["job_name"] for job in jobs}


def load_dashboard_code():
    spec = importlib.util.spec_from_file_location("grafana_dashboard", DASHBOARD_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dashboard_file_is_what_its_code_writes():
    written = (DASHBOARDS / "shokudo-overview.json").read_text()
    assert written == load_dashboard_code().render(), \
        "run `python deploy/grafana/dashboard.py` and commit the result"


def test_dashboard_panels_do_not_overlap_and_have_unique_ids():
    panels = json.loads((DASHBOARDS / "shokudo-overview.json").read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not area & cells, panel["title"]
        cells |= area


def dashboard_queries():
    panels = json.loads((DASHBOARDS / "shokudo-overview.json").read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_every_dashboard_query_reads_the_region_chosen_at_its_top():
    dashboard = json.loads((DASHBOARDS / "shokudo-overview.json").read_text())
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["includeAll"], variable["multi"]) == (
        "namespace", False, False)
    assert variable["query"]["query"] == 'label_values(up{job="gateway"}, namespace)'
    selectors = [selector for expr in dashboard_queries()
                 for selector in re.findall(r"\b[a-z_:]+\{[^}]*\}", expr)]
    assert len(selectors) > 30
    assert [s for s in selectors if 'namespace=~"$namespace"' not in s] == []
    bare = [expr for expr in dashboard_queries()
            if re.search(r"(?<![a-z_:])(shokudo|gateway|process|rabbitmq)_[a-z_]+(?![{a-z_:])",
                         expr)]
    assert bare == [], "a metric read without the region's selector"


def test_the_dashboard_shows_saturation_from_what_is_scraped():
    """Queue depth from RabbitMQ's plugin, cores, memory and database connections."""
    queries = " ".join(dashboard_queries())
    for metric in ("rabbitmq_detailed_queue_messages_ready",
                   "rabbitmq_detailed_queue_messages_unacked", "process_cpu_seconds_total",
                   "process_resident_memory_bytes", "shokudo_db_pool_checked_out_connections",
                   "shokudo_db_pool_max_connections"):
        assert metric in queries, metric
    jobs = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]
    [rabbitmq] = [job for job in jobs if job["job_name"] == "rabbitmq"]
    assert "queue_coarse_metrics" in rabbitmq["params"]["family"]


def test_every_metric_the_alerts_and_dashboard_read_is_one_the_code_exports():
    """A renamed metric would leave a silent alert and an empty panel."""
    source = "".join(path.read_text() for folder in ("common", "services", "gateway")
                     for path in (ROOT / folder).rglob("*.py") if "tests" not in path.parts)
    queries = ALERTS.read_text() + (DASHBOARDS / "shokudo-overview.json").read_text()
    used = set(re.findall(r"\b(shokudo_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?![:a-z_])", queries))
    missing = {name for name in used if f'"{name}"' not in source}
    assert missing == set()
    assert "shokudo_entrypoint_duration_seconds" in used and "shokudo_parked_messages" in used
