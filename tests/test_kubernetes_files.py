"""deploy/k8s: every region's overlay builds, every object is valid against its schema, and the
objects fit together (probes on the health endpoints, databases from CloudNativePG, scaling on
queue depth, disruption budgets, secrets that exist, one namespace per region, every replica
scraped as its component within its namespace).

Offline: ``kubectl kustomize`` renders each overlay; built-in kinds are checked against the
Kubernetes schemas kubernetes-validate ships, the operators' kinds against the schemas kept in
deploy/k8s/schemas/. Where kubectl is missing, skipped with the reason on a developer's machine
and failed under CI (tests/tools.py): no Python renderer of kustomizations is kept up on PyPI,
and Debian's kubectl (1.20) cannot render these.
"""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shokudo_common.signing_secrets import UnsafeSecret, checked_secret

from test_deployment_files import COMPONENTS, SERVICES, load_migrate_module
from tools import require

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
SCHEMAS = K8S / "schemas"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
KUBERNETES_VERSION = "1.32"
SECRET_NAME = "shokudo-secrets"
# Keys CloudNativePG writes into the `<cluster>-app` Secret of each Cluster.
CNPG_APP_SECRET_KEYS = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri",
                        "pgpass"}

by_overlay = pytest.mark.parametrize("overlay", OVERLAYS)
by_component = pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
by_service = pytest.mark.parametrize("component", SERVICES, ids=lambda c: c.name)
# The services behind the broker; the gateway has a database but consumes no queue.
QUEUE_CONSUMERS = tuple(c for c in SERVICES if c.name != "gateway")
by_consumer = pytest.mark.parametrize("component", QUEUE_CONSUMERS, ids=lambda c: c.name)


@cache
def render(overlay):
    return render_folder(K8S / "overlays" / overlay)


def render_folder(folder):
    """The objects ``kubectl kustomize`` makes of ``folder``, by kind and name."""
    result = subprocess.run([require("kubectl"), "kustomize", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    objects = {}
    for document in yaml.safe_load_all(result.stdout):
        key = (document["kind"], document["metadata"]["name"])
        assert key not in objects, f"{key} twice in {folder}"
        objects[key] = document
    return objects


def migrate_job(objects):
    """The migration Job, whatever release it is named after."""
    [job] = [document for (kind, _), document in objects.items()
             if kind == "Job" and document["metadata"]["labels"]["app.kubernetes.io/name"]
             == "shokudo-migrate"]
    return job


def platform_images(objects):
    """The image of every container of the platform's Deployments and Jobs."""
    return {container["image"] for (kind, _), document in objects.items()
            if kind in ("Deployment", "Job")
            for container in document["spec"]["template"]["spec"]["containers"]}


@pytest.fixture(params=OVERLAYS)
def objects(request):
    return render(request.param)


def schema_of(document):
    group_version = document["apiVersion"].replace("/", "_")
    path = SCHEMAS / f"{group_version}_{document['kind'].lower()}.json"
    return json.loads(path.read_text()) if path.exists() else None


def container_of(deployment, name):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def resolved_port(container, port):
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def selects(selector, labels):
    """Whether a label selector (matchLabels, matchExpressions with In) picks ``labels``."""
    matched = selector.get("matchLabels", {}).items() <= labels.items()
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is read here"
        matched = matched and labels.get(expression["key"]) in expression["values"]
    return matched


def relabelled(relabelings, meta):
    """The labels Prometheus's ``replace`` relabelings (the only action used) make of ``meta``."""
    labels = dict(meta)
    for rule in relabelings:
        assert rule.get("action", "replace") == "replace"
        value = rule.get("separator", ";").join(labels.get(name, "")
                                                 for name in rule.get("sourceLabels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if match:
            labels[rule["targetLabel"]] = match.expand(
                rule.get("replacement", "$1").replace("$", "\\"))
    return labels


def pod_meta(deployment):
    """What Kubernetes service discovery tells Prometheus about a pod of ``deployment``."""
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    meta = {f"__meta_kubernetes_pod_label_{re.sub('[^a-zA-Z0-9_]', '_', key)}": value
            for key, value in labels.items()}
    return {**meta, "__meta_kubernetes_namespace": deployment["metadata"]["namespace"]}


def env_of(container):
    return {item["name"]: item for item in container.get("env", [])}


def secret_ref(container, name):
    return env_of(container)[name]["valueFrom"]["secretKeyRef"]


# -- the files -------------------------------------------------------------------------------

def test_the_base_lists_every_manifest_and_nothing_else():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    manifests = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(manifests)


def test_there_are_overlays_for_at_least_two_regions():
    assert len(OVERLAYS) >= 2


@by_overlay
def test_every_object_is_valid_against_its_schema(overlay):
    unchecked = []
    for (kind, name), document in render(overlay).items():
        schema = schema_of(document)
        if schema is not None:
            jsonschema.validate(document, schema)
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.append((kind, name))
    assert unchecked == [], "a kind with no schema: vendor one into deploy/k8s/schemas/"


@pytest.mark.parametrize("kind, name, typo", [
    ("Cluster", "pg-issuance", {"instance": 2}),
    ("PodMonitor", "shokudo", {"podMetricEndpoints": []}),
])
def test_the_vendored_schemas_refuse_a_misspelt_field(kind, name, typo):
    """They would pass anything if they were too loose to notice a typo."""
    document = render(OVERLAYS[0])[(kind, name)]
    misspelt = {**document, "spec": {**document["spec"], **typo}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, schema_of(misspelt))


# -- each component --------------------------------------------------------------------------

@by_component
def test_each_component_is_a_deployment_probed_on_its_health_endpoints(objects, component):
    container = container_of(objects[("Deployment", component.name)], component.name)
    assert container["command"] == component.command
    for probe, path in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
        check = container[probe]["httpGet"]
        assert check["path"] == path
        assert resolved_port(container, check["port"]) == component.port
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["cpu"] and resources["limits"]["memory"]
    annotations = objects[("Deployment", component.name)]["spec"]["template"]["metadata"][
        "annotations"]
    assert annotations["prometheus.io/port"] == str(component.port)


@by_component
def test_each_deployment_has_a_service_that_reaches_its_pods(objects, component):
    deployment = objects[("Deployment", component.name)]
    service = objects[("Service", component.name)]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    port, = service["spec"]["ports"]
    container = container_of(deployment, component.name)
    assert port["port"] == component.port
    assert resolved_port(container, port["targetPort"]) == component.port


@by_component
def test_a_disruption_takes_at_most_one_replica_of_each_component(objects, component):
    budget = objects[("PodDisruptionBudget", component.name)]
    pod_labels = objects[("Deployment", component.name)]["spec"]["template"]["metadata"][
        "labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


@by_consumer
def test_each_service_scales_on_the_depth_of_every_queue_it_consumes(objects, component):
    """Its RPC queue and each event queue its handlers read, as the code declares them."""
    from shokudo_common.topology import SERVICE_CLASSES, event_queues, load

    service_cls, = [load(path) for path in SERVICE_CLASSES
                    if path.startswith(f"{component.name}.")]
    consumed = {f"rpc-{component.name}"} | {queue.name for queue in event_queues(service_cls)}
    scaled = objects[("ScaledObject", component.name)]
    assert scaled["spec"]["scaleTargetRef"]["name"] == component.name
    assert scaled["spec"]["minReplicaCount"] >= 2
    assert scaled["spec"]["maxReplicaCount"] >= scaled["spec"]["minReplicaCount"]
    queue_triggers = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
    assert sorted(t["metadata"]["queueName"] for t in queue_triggers) == sorted(consumed)
    for trigger in queue_triggers:
        assert ("TriggerAuthentication", trigger["authenticationRef"]["name"]) in objects
    # KEDA owns the autoscaler; a second one would fight it.
    assert ("HorizontalPodAutoscaler", component.name) not in objects
    assert "replicas" not in objects[("Deployment", component.name)]["spec"]


def test_the_gateway_scales_on_cpu(objects):
    autoscaler = objects[("HorizontalPodAutoscaler", "gateway")]
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "gateway")
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert "replicas" not in objects[("Deployment", "gateway")]["spec"]


@by_service
def test_each_service_has_its_own_cloudnativepg_database(objects, component):
    container = container_of(objects[("Deployment", component.name)], component.name)
    reference = secret_ref(container, "DB_URI")
    cluster_name = reference["name"].removesuffix("-app")
    cluster = objects[("Cluster", cluster_name)]
    assert reference == {"name": f"{cluster_name}-app", "key": "uri"}
    assert cluster["spec"]["bootstrap"]["initdb"]["database"] == component.database
    assert cluster["spec"]["instances"] >= 2


@by_overlay
def test_prometheus_scrapes_each_component_as_its_job_within_the_region_s_namespace(overlay):
    """The alerts know a component by `job` and a region by `namespace`, as compose names them."""
    from test_monitoring_files import watched_jobs

    objects = render(overlay)
    monitor = objects[("PodMonitor", "shokudo")]
    endpoint, = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    for component in COMPONENTS:
        deployment = objects[("Deployment", component.name)]
        assert selects(monitor["spec"]["selector"],
                       deployment["spec"]["template"]["metadata"]["labels"])
        container = container_of(deployment, component.name)
        assert resolved_port(container, endpoint["port"]) == component.port
        labels = relabelled(endpoint["relabelings"], pod_meta(deployment))
        assert (labels["job"], labels["namespace"]) == (component.name, f"shokudo-{overlay}")
    assert watched_jobs() == {component.name for component in COMPONENTS}
    # The migration Job's pods serve no metrics: a target for them would always be down.
    job_pods = migrate_job(objects)["spec"]["template"]["metadata"]["labels"]
    assert not selects(monitor["spec"]["selector"], job_pods)


@by_overlay
def test_prometheus_reads_the_queues_of_the_region_s_broker(overlay):
    """Queue depth and unacknowledged messages, for the dashboard's saturation panels."""
    objects = render(overlay)
    monitor = objects[("PodMonitor", "rabbitmq-queues")]
    endpoint, = monitor["spec"]["podMetricsEndpoints"]
    # The RabbitMQ Cluster Operator labels the broker's pods with the cluster's name.
    broker_pods = {"app.kubernetes.io/name": objects[("RabbitmqCluster", "rabbitmq")][
        "metadata"]["name"], "app.kubernetes.io/component": "rabbitmq"}
    assert selects(monitor["spec"]["selector"], broker_pods)
    assert (endpoint["port"], endpoint["path"]) == ("prometheus", "/metrics/detailed")
    assert {"queue_coarse_metrics", "queue_consumer_count"} <= set(endpoint["params"]["family"])
    labels = relabelled(endpoint["relabelings"],
                        {"__meta_kubernetes_namespace": f"shokudo-{overlay}"})
    assert (labels["job"], labels["namespace"]) == ("rabbitmq", f"shokudo-{overlay}")


# -- what they share -------------------------------------------------------------------------

def test_every_secret_asked_for_exists(objects):
    written = {name: set(obj.get("stringData", {})) | set(obj.get("data", {}))
               for (kind, name), obj in objects.items() if kind == "Secret"}
    written.update({f"{name}-app": CNPG_APP_SECRET_KEYS
                    for (kind, name) in objects if kind == "Cluster"})
    asked = []
    for (kind, name), workload in objects.items():
        if kind in ("Deployment", "Job"):
            for container in workload["spec"]["template"]["spec"]["containers"]:
                for item in container.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        asked.append((name, ref["name"], ref["key"]))
        if kind == "TriggerAuthentication":
            asked += [(name, ref["name"], ref["key"])
                      for ref in workload["spec"]["secretTargetRef"]]
    assert len(asked) >= len(COMPONENTS) + 2 * len(SERVICES)
    assert [a for a in asked if a[2] not in written.get(a[1], ())] == []


def base_secret_keys():
    """Every key of shokudo-secrets the base writes in its template or any object asks for."""
    documents = [document for path in sorted(BASE.glob("*.yaml"))
                 for document in yaml.safe_load_all(path.read_text()) if document]
    keys = set()
    for document in documents:
        if document["kind"] == "Secret" and document["metadata"]["name"] == SECRET_NAME:
            keys |= set(document.get("stringData", {})) | set(document.get("data", {}))
    for reference in _references(documents):
        if reference.get("name") == SECRET_NAME and "key" in reference:
            keys.add(reference["key"])
    return keys


def _references(value):
    """Every secretKeyRef and secretTargetRef entry anywhere in ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "secretKeyRef":
                yield inner
            elif key == "secretTargetRef":
                yield from inner
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


@by_overlay
def test_each_overlay_names_every_secret_key_the_base_uses(overlay):
    """An overlay that left a key out would apply the template's value, placeholder and all."""
    [secret] = [document for document in
                yaml.safe_load_all((K8S / "overlays" / overlay / "secret.yaml").read_text())
                if document["kind"] == "Secret"]
    used = base_secret_keys()

    assert {"amqp-uri", "gateway-token-secret", "qr-token-secret",
            "gateway-metrics-token"} <= used
    assert sorted(used - set(secret["stringData"])) == []


@by_overlay
@pytest.mark.parametrize("key, variable", [("gateway-token-secret", "GATEWAY_TOKEN_SECRET"),
                                           ("qr-token-secret", "QR_TOKEN_SECRET"),
                                           ("gateway-metrics-token", "GATEWAY_METRICS_TOKEN")])
def test_an_overlay_applied_unfilled_has_signing_secrets_the_services_refuse(
        overlay, key, variable):
    rendered = render(overlay)[("Secret", SECRET_NAME)]["stringData"][key]

    assert rendered.startswith("REPLACE")
    with pytest.raises(UnsafeSecret):
        checked_secret(variable, rendered, {"ALLOW_DEVELOPMENT_SECRETS": True})


def test_the_gateway_counts_the_address_the_ingress_saw(objects):
    settings = objects[("ConfigMap", "shokudo-config")]["data"]
    gateway = container_of(objects[("Deployment", "gateway")], "gateway")

    assert settings["GATEWAY_TRUSTED_PROXY_HOPS"] == "1"
    assert {"configMapRef": {"name": "shokudo-config"}} in gateway["envFrom"]
    assert "GATEWAY_TRUSTED_PROXY_HOPS" not in env_of(gateway)


def test_every_configmap_setting_is_read_by_some_component(objects):
    configs = "".join((ROOT / c.config).read_text() for c in COMPONENTS)
    settings = objects[("ConfigMap", "shokudo-config")]["data"]
    assert [name for name in settings if f"${{{name}:" not in configs] == []


def test_quorum_queues_run_on_a_broker_of_three_nodes_or_more(objects):
    settings = objects[("ConfigMap", "shokudo-config")]["data"]
    assert settings["EVENT_QUEUE_TYPE"] == "quorum"
    broker = objects[("RabbitmqCluster", "rabbitmq")]
    assert broker["spec"]["replicas"] >= 3 and broker["spec"]["replicas"] % 2 == 1


def test_the_migration_job_prepares_every_database_and_the_queues_alike(objects):
    job = migrate_job(objects)
    container, = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "deploy/migrate.py"]
    module = load_migrate_module()
    assert module.missing_settings({item["name"]: "set" for item in container["env"]}) == []
    for component in SERVICES:
        service = container_of(objects[("Deployment", component.name)], component.name)
        assert secret_ref(container, module.database_variable(component.name)) == \
            secret_ref(service, "DB_URI")
    # The queue type comes from the same ConfigMap the services read.
    assert {"configMapRef": {"name": "shokudo-config"}} in container["envFrom"]


@by_overlay
def test_each_region_runs_the_tag_it_names_and_names_its_migration_job_after_it(overlay):
    kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml")
                                   .read_text())
    [image] = kustomization["images"]
    objects = render(overlay)

    assert platform_images(objects) == {f"{image['newName']}:{image['newTag']}"}
    name = migrate_job(objects)["metadata"]["name"]
    assert name == f"shokudo-migrate-{image['newTag']}"
    # A Job's name becomes its pods' job-name label: DNS-safe, 63 characters at most.
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) and len(name) <= 63


def test_a_new_release_applies_a_migration_job_of_its_own(tmp_path):
    """A Job's template cannot change: re-applied under its old name with a new image, it
    would be refused while the finished Job is kept. A new tag is a new Job instead."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    overlay = copy / "overlays" / OVERLAYS[0] / "kustomization.yaml"
    kustomization = yaml.safe_load(overlay.read_text())
    old_tag, new_tag = kustomization["images"][0]["newTag"], "9.8.7-rc.1"
    kustomization["images"][0]["newTag"] = new_tag
    overlay.write_text(yaml.safe_dump(kustomization, allow_unicode=True))

    before, after = render(OVERLAYS[0]), render_folder(copy / "overlays" / OVERLAYS[0])

    assert migrate_job(before)["metadata"]["name"] == f"shokudo-migrate-{old_tag}"
    assert migrate_job(after)["metadata"]["name"] == f"shokudo-migrate-{new_tag}"
    assert {image.rsplit(":", 1)[1] for image in platform_images(after)} == {new_tag}
    # Only the Job is new; every other object is the same one, changed in place.
    assert set(before) - set(after) == {("Job", f"shokudo-migrate-{old_tag}")}


@by_overlay
def test_each_region_lives_in_its_own_namespace_and_reaches_its_own_broker(overlay):
    objects = render(overlay)
    namespace, = [name for kind, name in objects if kind == "Namespace"]
    assert namespace == f"shokudo-{overlay}"
    for (kind, name), document in objects.items():
        if kind != "Namespace":
            assert document["metadata"]["namespace"] == namespace, (kind, name)
    amqp_uri = objects[("Secret", "shokudo-secrets")]["stringData"]["amqp-uri"]
    # KEDA reads it from its own namespace: the host must name this region's namespace.
    assert urlsplit(amqp_uri).hostname == f"rabbitmq.{namespace}.svc"


def test_the_regions_do_not_share_a_namespace():
    namespaces = [name for overlay in OVERLAYS for kind, name in render(overlay)
                  if kind == "Namespace"]
    assert len(set(namespaces)) == len(OVERLAYS)
