"""The production shapes of the platform hang together: docker-compose.yml and
deploy/prometheus/ run every component the same way, against its own database, watched by
Prometheus, and refer only to files that exist. deploy/k8s has its own tests
(test_kubernetes_files.py), and so do the alerts and dashboards (test_monitoring_files.py).

These tests read the files; no engine is needed. docker-compose.yml is validated against the
Compose Specification's JSON schema (vendored in deploy/compose/, see compose-spec.SOURCE.md),
and, where a docker CLI with the compose plug-in is on the machine, also handed to it to
parse. One integration test runs deploy/migrate.py, the step every deployment starts with,
against a real PostgreSQL and RabbitMQ.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
MIGRATE = ROOT / "deploy" / "migrate.py"
COMPOSE_SPEC = ROOT / "deploy" / "compose" / "compose-spec.json"


@dataclass(frozen=True)
class Component:
    name: str
    port: int
    config: str
    entry: str
    has_database: bool = True

    @property
    def command(self):
        return ["python", "-m", "shokudo_common.launch", "run", "--config", self.config,
                self.entry]

    @property
    def database(self):
        return f"shokudo_{self.name}"


COMPONENTS = (
    Component("gateway", 8000, "gateway/config.yaml", "gateway.service:GatewayService"),
    Component("directory", 8001, "services/directory/config.yaml",
              "directory.service:DirectoryService"),
    Component("enrollment", 8002, "services/enrollment/config.yaml",
              "enrollment.service:EnrollmentService"),
    Component("issuance", 8003, "services/issuance/config.yaml",
              "issuance.service:IssuanceService"),
    Component("redemption", 8004, "services/redemption/config.yaml",
              "redemption.service:RedemptionService"),
    Component("notification", 8005, "services/notification/config.yaml",
              "notification.service:NotificationService"),
)
SERVICES = tuple(c for c in COMPONENTS if c.has_database)
INFRASTRUCTURE = ("rabbitmq", "postgres", "mailpit", "migrate", "prometheus", "grafana")
by_component = pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
by_service = pytest.mark.parametrize("component", SERVICES, ids=lambda c: c.name)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())["services"]


def load_migrate_module():
    spec = importlib.util.spec_from_file_location("deploy_migrate", MIGRATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def database_of(uri):
    return urlsplit(uri).path.lstrip("/")


# -- docker-compose.yml ----------------------------------------------------------------------

@by_component
def test_each_component_runs_as_its_own_compose_service(compose, component):
    service = compose[component.name]
    assert service["command"] == component.command
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    environment = service["environment"]
    assert urlsplit(environment["AMQP_URI"]).hostname == "rabbitmq"
    assert environment["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{component.port}"
    assert "healthcheck" in service


def test_every_component_runs_the_same_image(compose):
    images = {compose[c.name]["image"] for c in COMPONENTS} | {compose["migrate"]["image"]}
    assert len(images) == 1


@by_service
def test_each_service_reaches_its_own_database_through_psycopg2(compose, component):
    uri = compose[component.name]["environment"]["DB_URI"]
    # A bare postgresql:// means psycopg 3 to SQLAlchemy 2.1, which blocks eventlet's hub.
    assert uri.startswith("postgresql+psycopg2://")
    assert urlsplit(uri).hostname == "postgres"
    assert database_of(uri) == component.database


def test_no_two_components_share_a_database(compose):
    databases = [database_of(compose[c.name]["environment"]["DB_URI"]) for c in SERVICES]
    assert len(set(databases)) == len(SERVICES)
    assert "shokudo_gateway" in databases


def test_the_init_script_creates_exactly_the_services_databases(compose):
    mounts = [volume.split(":") for volume in compose["postgres"]["volumes"]]
    scripts = [source for source, target, *_ in mounts
               if target.startswith("/docker-entrypoint-initdb.d/")]
    assert len(scripts) == 1
    sql = (ROOT / scripts[0]).read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+);", sql))
    assert created == {c.database for c in SERVICES}


def test_components_get_the_settings_their_config_reads(compose):
    notification = compose["notification"]["environment"]
    assert notification["SMTP_HOST"] == "mailpit" and notification["SMTP_PORT"] == "1025"
    gateway = compose["gateway"]["environment"]
    assert gateway["GATEWAY_TOKEN_SECRET"] and gateway["GATEWAY_RATE_LIMIT_STORAGE"]
    assert not any("BOOTSTRAP" in name for name in gateway)
    assert compose["redemption"]["environment"]["QR_TOKEN_SECRET"]
    for component in COMPONENTS:
        config = (ROOT / component.config).read_text()
        for name in compose[component.name]["environment"]:
            assert f"${{{name}:" in config, f"{component.config} never reads {name}"


def test_infrastructure_is_there_with_health_checks(compose):
    for name in INFRASTRUCTURE:
        assert name in compose, name
    assert compose["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert {"5672:5672", "15672:15672"} <= set(compose["rabbitmq"]["ports"])
    assert compose["postgres"]["image"] == "postgres:15"
    for name in ("rabbitmq", "postgres", "mailpit"):
        assert "healthcheck" in compose[name], name


@by_component
def test_compose_waits_for_each_component_to_be_ready_not_just_alive(compose, component):
    probe = " ".join(compose[component.name]["healthcheck"]["test"])
    assert "/health/ready" in probe


def test_prometheus_reads_the_gateway_s_metrics_with_the_gateway_s_metrics_token(compose):
    [job] = [job for job in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
             if job["job_name"] == "gateway"]
    token_file = job["authorization"]["credentials_file"]
    mounts = dict(volume.split(":")[:2] for volume in compose["prometheus"]["volumes"])
    default = compose["gateway"]["environment"]["GATEWAY_METRICS_TOKEN"]

    assert job["authorization"]["type"] == "Bearer"
    assert mounts[f"./deploy/prometheus/{token_file}"] == f"/etc/prometheus/{token_file}"
    written = (PROMETHEUS.parent / token_file).read_text().strip()
    assert default == f"${{GATEWAY_METRICS_TOKEN:-{written}}}"
    assert len(written) >= 32


def test_prometheus_gets_its_alert_rules_and_grafana_its_dashboards(compose):
    prometheus_config = yaml.safe_load(PROMETHEUS.read_text())
    mounts = dict(volume.split(":")[:2] for volume in compose["prometheus"]["volumes"])
    for rule_file in prometheus_config["rule_files"]:
        assert mounts[f"./deploy/prometheus/{rule_file}"] == f"/etc/prometheus/{rule_file}"
    mounts = dict(volume.split(":")[:2] for volume in compose["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == "/etc/grafana/dashboards"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_prometheus_reads_rabbitmq_s_queues_through_its_prometheus_plugin(compose):
    mounts = dict(volume.split(":")[:2] for volume in compose["rabbitmq"]["volumes"])
    plugins = (ROOT / mounts_source(mounts, "/etc/rabbitmq/enabled_plugins")).read_text()
    assert re.fullmatch(r"\[([a-z_]+,)*[a-z_]+\]\.\n", plugins), "an Erlang list, then a dot"
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(plugins[1:-3].split(","))

    jobs = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    [rabbitmq] = [job for job in jobs if "rabbitmq:15692" in scrape_targets(job)]
    assert rabbitmq["metrics_path"] == "/metrics/detailed"
    assert {"queue_coarse_metrics", "queue_consumer_count"} <= set(rabbitmq["params"]["family"])


def mounts_source(mounts, target):
    [source] = [source for source, mounted in mounts.items() if mounted == target]
    return source


def test_gateway_is_the_published_entrance(compose):
    assert compose["gateway"]["ports"] == ["8000:8000"]


@by_component
def test_components_start_only_after_the_ground_is_prepared(compose, component):
    depends_on = compose[component.name]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert depends_on["rabbitmq"] == {"condition": "service_healthy"}
    if component.has_database:
        assert depends_on["postgres"] == {"condition": "service_healthy"}


def test_every_dependency_waited_on_is_a_service_that_can_report_health(compose):
    for name, service in compose.items():
        depends_on = service.get("depends_on", {})
        for target in depends_on:
            assert target in compose, f"{name} waits for unknown {target}"
            if isinstance(depends_on, dict) and (
                    depends_on[target].get("condition") == "service_healthy"):
                assert "healthcheck" in compose[target], f"{name} waits on {target}'s health"


def test_migrate_prepares_every_service_database_and_the_queues(compose):
    migrate = compose["migrate"]
    assert migrate["command"] == ["python", "deploy/migrate.py"]
    assert migrate["restart"] == "no"
    module = load_migrate_module()
    assert set(module.SERVICES_WITH_DATABASES) == {c.name for c in SERVICES}
    assert module.missing_settings(migrate["environment"]) == []
    for component in SERVICES:
        variable = module.database_variable(component.name)
        assert migrate["environment"][variable] == compose[component.name]["environment"]["DB_URI"]


def test_migrate_refuses_to_start_without_its_settings(capsys):
    module = load_migrate_module()
    assert module.main({"AMQP_URI": "pyamqp://x"}) == 2
    assert "DIRECTORY_DB_URI" in capsys.readouterr().err


def test_every_file_compose_refers_to_exists(compose):
    referred = set()
    for service in compose.values():
        if "build" in service:
            referred.add(Path(service["build"]["context"]) / service["build"]["dockerfile"])
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                referred.add(Path(source))
        command = service.get("command") or []
        if "--config" in command:
            referred.add(Path(command[command.index("--config") + 1]))
        referred.update(Path(part) for part in command if str(part).endswith(".py"))
    missing = sorted(str(path) for path in referred if not (ROOT / path).exists())
    assert missing == []
    essential = {Path(c.config) for c in COMPONENTS} | {
        Path("deploy/Dockerfile"), Path("deploy/compose/postgres-init.sql"),
        Path("deploy/migrate.py"), Path("deploy/prometheus/prometheus.yml")}
    assert essential <= referred


def test_the_dockerfile_copies_only_what_exists_onto_python_3_11():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    sources = [part for line in dockerfile.splitlines() if line.startswith("COPY ")
               for part in line.split()[1:-1]]
    assert "requirements.txt" in sources
    assert [source for source in sources if not (ROOT / source).exists()] == []
    assert re.search(r"^USER \d+", dockerfile, re.MULTILINE), "runs as a numeric non-root user"


# The formats docker-compose checked beside its schema; jsonschema knows none of them.
COMPOSE_FORMATS = jsonschema.FormatChecker()
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
PORTS = re.compile(r"^((\d{1,3}(\.\d{1,3}){3}):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(/(tcp|udp|sctp))?$")
for _format, _pattern in (("duration", DURATION), ("ports", PORTS), ("expose", PORTS)):
    COMPOSE_FORMATS.checks(_format)(lambda value, pattern=_pattern: (
        not isinstance(value, str) or bool(pattern.match(value))))


def compose_validator():
    """The Compose Specification's schema as docker-compose used it: draft 4, its formats."""
    schema = json.loads(COMPOSE_SPEC.read_text())
    # The project's `name`, added to the specification after this copy was published.
    schema["properties"]["name"] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}
    return jsonschema.Draft4Validator(schema, format_checker=COMPOSE_FORMATS)


def test_the_compose_file_follows_the_compose_specification():
    document = yaml.safe_load(COMPOSE.read_text())

    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
              for error in compose_validator().iter_errors(document)]

    assert errors == []


@pytest.mark.parametrize("path, value", [
    (("services", "gateway", "restrat"), "always"),
    (("services", "gateway", "healthcheck", "interval"), "ten seconds"),
    (("services", "gateway", "ports"), ["8000:8000:tcp"]),
    (("services", "gateway", "depends_on", "migrate", "condition"), "service_done"),
])
def test_the_compose_schema_refuses_what_compose_would(path, value):
    """A schema too loose to notice a typo would pass anything."""
    document = yaml.safe_load(COMPOSE.read_text())
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value

    assert list(compose_validator().iter_errors(document)) != []


def test_every_named_volume_a_service_mounts_is_declared(compose):
    declared = set(yaml.safe_load(COMPOSE.read_text()).get("volumes", {}))
    named = {volume.split(":")[0] for service in compose.values()
             for volume in service.get("volumes", []) if not volume.startswith((".", "/"))}
    assert named and named <= declared


def test_docker_compose_parses_the_file():
    """The real parser, where a docker CLI with the compose plug-in is installed (not here: the
    schema test above stands in for it)."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on this machine")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker CLI here has no compose plugin (`docker compose version` failed)")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


# -- Prometheus and Grafana ------------------------------------------------------------------

def scrape_targets(job):
    """host:port pairs a scrape job reaches, whether listed or found by DNS."""
    targets = set()
    for static in job.get("static_configs", []):
        targets.update(static["targets"])
    for dns in job.get("dns_sd_configs", []):
        assert dns.get("type", "SRV") == "A", "A records carry no port; the job must give one"
        targets.update(f"{name}:{dns['port']}" for name in dns["names"])
    return targets


@by_component
def test_prometheus_scrapes_every_component_metrics(compose, component):
    jobs = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    reaching = [job for job in jobs if f"{component.name}:{component.port}" in scrape_targets(job)]
    assert len(reaching) == 1, f"{component.name} scraped by {len(reaching)} jobs"
    assert reaching[0].get("metrics_path", "/metrics") == "/metrics"


def test_grafana_reads_the_compose_prometheus(compose):
    provisioning = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
    datasource, = yaml.safe_load(provisioning.read_text())["datasources"]
    assert datasource["type"] == "prometheus"
    assert urlsplit(datasource["url"]).hostname == "prometheus" and "prometheus" in compose

    for path in (GRAFANA / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]


def test_deployment_agrees_with_the_development_stack():
    """`make demo` and these files must start the same components the same way."""
    from shokudo_common.devstack import COMPONENTS as DEVSTACK

    assert {(c.name, c.entry, f"{c.folder}/config.yaml", c.has_database) for c in DEVSTACK} == {
        (c.name, c.entry, c.config, c.has_database) for c in COMPONENTS}


# -- the migration step, for real ------------------------------------------------------------

@pytest.mark.integration
def test_migrate_brings_every_database_to_head_and_declares_the_queues(tmp_path):
    requests = pytest.importorskip("requests")
    from kombu import Connection
    from sqlalchemy import create_engine, text

    from shokudo_common.migrations import LOCAL_DEFAULT
    from shokudo_common.topology import SERVICE_CLASSES, event_queues, load

    management = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
    # Named after this run, so that two engineers' runs on one machine never clash.
    vhost, auth = f"shokudo-deploy-tests-{os.getpid()}", ("guest", "guest")
    requests.delete(f"{management}/api/vhosts/{vhost}", auth=auth, timeout=10)
    requests.put(f"{management}/api/vhosts/{vhost}", auth=auth, timeout=10).raise_for_status()
    requests.put(f"{management}/api/permissions/{vhost}/guest", auth=auth, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp_uri = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"

    admin = create_engine(LOCAL_DEFAULT.format(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    names = {c.name: f"shokudo_deploytest_{c.name}_{os.getpid()}" for c in SERVICES}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))

    environment = {**os.environ, "AMQP_URI": amqp_uri}
    module = load_migrate_module()
    for service, name in names.items():
        environment[module.database_variable(service)] = LOCAL_DEFAULT.format(database=name)
    try:
        for _ in range(2):  # the second run finds everything prepared and changes nothing
            result = subprocess.run([sys.executable, str(MIGRATE)], env=environment,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
            assert "postgres@" not in result.stdout, "database addresses stay out of the log"

        for name in names.values():
            engine = create_engine(LOCAL_DEFAULT.format(database=name))
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).all()
            engine.dispose()
        expected = [q for path in SERVICE_CLASSES for q in event_queues(load(path))]
        assert expected
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            for queue in expected:
                queue(channel).queue_declare(passive=True)  # raises if it is not there
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        requests.delete(f"{management}/api/vhosts/{vhost}", auth=auth, timeout=10)
