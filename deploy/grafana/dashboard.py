"""The Grafana dashboard, as code: run it to rewrite dashboards/shokudo-overview.json.

    python deploy/grafana/dashboard.py

Each row answers one of the operator's questions; each panel is a title, a unit and its
PromQL queries (legend after the "|"). Gauges read from a database are the same on every
replica, so they are shown with ``max``; counters are summed over replicas. Every query reads
the one region (namespace) chosen at the top, so that no region's figures hide another's.
``tests/test_monitoring_files.py`` fails when the JSON file and this script disagree.
"""

import json
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "dashboards" / "shokudo-overview.json"
DATASOURCE = {"type": "prometheus", "uid": "shokudo-prometheus"}
COMPONENTS = "gateway|directory|enrollment|issuance|redemption|notification"


def m(name, **matchers):
    """``name`` in the region chosen at the top of the dashboard (its namespace), and matching
    ``matchers`` (``outcome="error"``; a value starting with ``~`` is a regular expression)."""
    pairs = [("namespace", "~$namespace"), *matchers.items()]
    inside = ", ".join(f'{key}=~"{value[1:]}"' if value.startswith("~") else f'{key}="{value}"'
                       for key, value in pairs)
    return f"{name}{{{inside}}}"


ROWS = [
    ("Golden signals: is every service up, busy, failing, slow?", [
        ("Replicas up", "stat", "short",
         [f"sum by (job) ({m('up', job='~' + COMPONENTS)})|{{{{job}}}}"]),
        ("Calls per second by service", "timeseries", "reqps",
         [f"sum by (service) (rate({m('shokudo_entrypoint_duration_seconds_count')}[5m]))"
          "|{{service}}"]),
        ("Share of calls failing (errors of ours, not refusals)", "timeseries", "percentunit",
         [f"sum by (service) (rate({m('shokudo_entrypoint_calls_total', outcome='error')}[5m]))"
          f" / sum by (service) (rate({m('shokudo_entrypoint_calls_total')}[5m]))"
          "|{{service}}"]),
        ("Latency p95 by service", "timeseries", "s",
         ["histogram_quantile(0.95, sum by (service, le)"
          f" (rate({m('shokudo_entrypoint_duration_seconds_bucket')}[5m])))|{{{{service}}}}"]),
        ("Latency p95 per entrypoint", "timeseries", "s",
         ["histogram_quantile(0.95, sum by (service, entrypoint, le)"
          f" (rate({m('shokudo_entrypoint_duration_seconds_bucket')}[5m])))"
          "|{{service}}.{{entrypoint}}"]),
        ("Gateway requests by status", "timeseries", "reqps",
         [f"sum by (status_code) (rate({m('gateway_http_requests_total')}[5m]))"
          "|{{status_code}}"]),
        ("Gateway latency p50 / p95 / p99", "timeseries", "s",
         [f"histogram_quantile({q}, sum by (le)"
          f" (rate({m('gateway_http_request_latency_seconds_bucket')}[5m])))|p{int(q * 100)}"
          for q in (0.5, 0.95, 0.99)]),
        ("Gateway errors by code", "timeseries", "reqps",
         [f"sum by (code) (rate({m('shokudo_gateway_error_responses_total')}[5m]))|{{{{code}}}}"]),
    ]),
    ("Saturation: queues waiting, cores, memory, database connections", [
        ("Messages waiting in each queue (ready)", "timeseries", "short",
         [f"topk(10, sum by (queue) ({m('rabbitmq_detailed_queue_messages_ready')}))"
          "|{{queue}}"]),
        ("Messages delivered, not yet acknowledged", "timeseries", "short",
         [f"topk(10, sum by (queue) ({m('rabbitmq_detailed_queue_messages_unacked')}))"
          "|{{queue}}"]),
        # One replica runs one eventlet hub: near 1 core it is saturated, whatever its limit.
        ("CPU of the busiest replica (cores)", "timeseries", "short",
         [f"max by (job) (rate({m('process_cpu_seconds_total', job='~' + COMPONENTS)}[5m]))"
          "|{{job}}"]),
        ("Resident memory of the largest replica", "timeseries", "bytes",
         [f"max by (job) ({m('process_resident_memory_bytes', job='~' + COMPONENTS)})"
          "|{{job}}"]),
        ("Database connections held, busiest replica, against its pool's limit",
         "timeseries", "short",
         [f"max by (service) ({m('shokudo_db_pool_checked_out_connections')})"
          "|held {{service}}",
          f"max by (service) ({m('shokudo_db_pool_max_connections')})|limit {{{{service}}}}"]),
    ]),
    ("Issuance: has every region's month been granted?", [
        ("Due run completed (1) per region", "stat", "short",
         [f"max by (region_id) ({m('shokudo_issuance_due_run_completed')})|{{{{region_id}}}}"]),
        ("Hours since the due issue day began", "stat", "h",
         ["(time() - max by (region_id)"
          f" ({m('shokudo_issuance_due_issue_day_start_timestamp_seconds')})) / 3600"
          "|{{region_id}}"]),
        ("Grants per region and period", "bargauge", "short",
         [f"max by (region_id, period) ({m('shokudo_issuance_period_grants')})"
          "|{{region_id}} {{period}}"]),
        ("Yen granted per region and period", "bargauge", "currencyJPY",
         [f"max by (region_id, period) ({m('shokudo_issuance_period_granted_yen')})"
          "|{{region_id}} {{period}}"]),
        ("Grants issued per hour", "timeseries", "short",
         [f"sum by (region_id) (increase({m('shokudo_grants_issued_total')}[1h]))"
          "|{{region_id}}"]),
    ]),
    ("Redemption: what is paid, what is declined and why", [
        ("Yen redeemed (last hour)", "timeseries", "currencyJPY",
         [f"sum by (region_id) (increase({m('shokudo_redeemed_yen_total')}[1h]))"
          "|redeemed {{region_id}}",
          f"sum by (region_id) (increase({m('shokudo_paid_by_families_yen_total')}[1h]))"
          "|paid at the counter {{region_id}}"]),
        ("Redemptions per minute by region and outcome", "timeseries", "short",
         [f"sum by (region_id, outcome) (rate({m('shokudo_redemptions_total')}[5m])) * 60"
          "|{{region_id}} {{outcome}}"]),
        ("Declines per minute by reason and region", "timeseries", "short",
         [f"sum by (region_id, reason) (rate({m('shokudo_redemptions_declined_total')}[5m]))"
          " * 60|{{region_id}} {{reason}}"]),
        ("Share of attempts declined (10 min) against the last day", "timeseries",
         "percentunit",
         [f"{m('namespace_region_id:shokudo_redemption_declines:ratio_rate10m')}"
          "|{{region_id}} now",
          f"{m('namespace_region_id:shokudo_redemption_declines:ratio_rate1d')}"
          "|{{region_id}} usual"]),
    ]),
    ("Messaging: does every fact get through?", [
        ("Parked messages waiting for replay", "timeseries", "short",
         [f"max by (service) ({m('shokudo_parked_messages')})|{{{{service}}}}"]),
        ("Outbox backlog (events not yet published)", "timeseries", "short",
         [f"max by (service) ({m('shokudo_outbox_pending_events')})|{{{{service}}}}"]),
        ("Age of the oldest event in the outbox", "timeseries", "s",
         [f"max by (service) ({m('shokudo_outbox_oldest_pending_age_seconds')})"
          "|{{service}}"]),
        ("Events relayed per second, relay failures", "timeseries", "short",
         [f"sum by (service) (rate({m('shokudo_outbox_events_published_total')}[5m]))"
          "|relayed {{service}}",
          f"sum by (service) (increase({m('shokudo_outbox_relay_failures_total')}[5m]))"
          "|failures {{service}}"]),
        ("Events applied by consumer and outcome", "timeseries", "short",
         [f"sum by (consumer, outcome) (rate({m('shokudo_events_applied_total')}[5m]))"
          "|{{consumer}} {{outcome}}"]),
    ]),
    ("Notifications: do families and staff hear from us?", [
        ("Deliveries per minute by channel and outcome", "timeseries", "short",
         ["sum by (channel, outcome)"
          f" (rate({m('shokudo_notification_deliveries_total')}[5m])) * 60"
          "|{{channel}} {{outcome}}"]),
        ("Messages that reached no one, by template (last hour)", "timeseries", "short",
         ["sum by (channel, template, outcome) (increase("
          f"{m('shokudo_notification_deliveries_total', outcome='~failed|skipped')}[1h]))"
          "|{{channel}} {{template}} {{outcome}}"]),
        ("Tries to be repeated (retry) per minute", "timeseries", "short",
         ["sum by (channel)"
          f" (rate({m('shokudo_notification_deliveries_total', outcome='retry')}[5m]))"
          " * 60|{{channel}}"]),
    ]),
]

# One region at a time: in Kubernetes each has its namespace; compose's is "compose".
NAMESPACE = {
    "name": "namespace", "label": "Region (namespace)", "type": "query",
    "datasource": DATASOURCE, "definition": 'label_values(up{job="gateway"}, namespace)',
    "query": {"query": 'label_values(up{job="gateway"}, namespace)', "refId": "namespace"},
    "refresh": 1, "sort": 1, "multi": False, "includeAll": False,
}


def target(ref_id, query):
    expr, legend = query.rsplit("|", 1)
    return {"refId": ref_id, "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}


def panel(panel_id, title, kind, unit, queries, x, y):
    return {
        "id": panel_id, "title": title, "type": kind, "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": 12, "h": 8},
        "targets": [target(chr(ord("A") + n), query) for n, query in enumerate(queries)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
        if kind in ("stat", "bargauge") else {},
    }


def dashboard():
    panels, y, panel_id = [], 0, 1
    for row_title, row_panels in ROWS:
        panels.append({"id": panel_id, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        panel_id, y = panel_id + 1, y + 1
        for n, spec in enumerate(row_panels):
            panels.append(panel(panel_id, *spec, x=12 * (n % 2), y=y + 8 * (n // 2)))
            panel_id += 1
        y += 8 * ((len(row_panels) + 1) // 2)
    return {
        "uid": "shokudo-overview", "title": "Shokudo platform overview", "tags": ["shokudo"],
        "timezone": "Asia/Tokyo", "schemaVersion": 39, "version": 2, "editable": False,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"}, "panels": panels,
        "templating": {"list": [NAMESPACE]},
    }


def render():
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render())
