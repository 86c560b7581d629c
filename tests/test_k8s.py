"""deploy/k8s: the kustomize manifests render (``kubectl kustomize`` where it is installed, else
the plain files kustomization.yaml lists), every object validates against the Kubernetes
schemas (kubernetes-validate, strict), and every process finds what it reads: its settings
parse from the ConfigMap, the Secret and its own env, and none of the stores, the key or the
bot runner's API is left to a default that only fits one machine.
"""
from __future__ import annotations

import copy
import importlib.util
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from exchange.config import Settings, signing_key

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.33.0"
MUST_SET = {"REDIS_URL", "MONGO_URL", "SECRET_KEY", "METRICS_PORT"}  # their defaults fit one machine only
WORKERS = {"matcher": "orderbook.worker", "ledger-worker": "ledger.worker", "ticker": "ticker.worker",
           "bot-runner": "bots.runner"}


def rendered() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    docs = [doc for name in kustomization["resources"] for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]
    for doc in docs:
        if doc["kind"] != "Namespace":
            doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in rendered()}


class Reads(dict):
    """An environment that notes every name the code asks for."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.names: set[str] = set()

    def get(self, key, default=None):
        self.names.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.names.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.names.add(key)
        return super().__contains__(key)


def container_env(objects: dict, container: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", ()):
        if "configMapRef" in source:
            env |= objects[("ConfigMap", source["configMapRef"]["name"])]["data"]
        if "secretRef" in source:
            env |= objects[("Secret", source["secretRef"]["name"])]["stringData"]
    for item in container.get("env", ()):
        env[item["name"]] = item.get("value", f"<{item['name']} from the pod>")
    return env


def test_every_object_validates_against_the_kubernetes_schemas(objects):
    assert {kind for kind, _name in objects} >= {"Namespace", "ConfigMap", "Secret", "Deployment", "Service",
                                                 "HorizontalPodAutoscaler", "Ingress"}
    for doc in objects.values():
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    broken = copy.deepcopy(objects[("Deployment", "matcher")])
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # the check can fail
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_each_process_runs_its_module_with_probes_and_finds_every_setting_it_reads(objects):
    deployments = {name: doc for (kind, name), doc in objects.items() if kind == "Deployment"}
    assert set(deployments) == {"orderbook", "web", *WORKERS}
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        command = container["command"]
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, name
        assert container["readinessProbe"] and container["livenessProbe"], name
        if name in WORKERS:
            assert container["livenessProbe"]["exec"]["command"][-1] == WORKERS[name]
        env = container_env(objects, container)
        with pytest.raises(SystemExit):  # the placeholder: every process that signs or checks tokens refuses it
            signing_key(env["SECRET_KEY"])
        reads = Reads({**env, "SECRET_KEY": "k" * 48})  # as the README says to set it
        settings = Settings.from_env(reads)
        assert MUST_SET <= reads.names and MUST_SET <= set(env), name
        assert settings.redis_cluster and settings.redis_url.startswith("redis://")
        if name == "bot-runner":
            assert env["API_URL"] == "http://orderbook:8000" and ("Service", "orderbook") in objects


def test_the_api_scales_on_cpu_and_the_ingress_keeps_a_browser_on_one_web_replica(objects):
    hpa = objects[("HorizontalPodAutoscaler", "orderbook")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "orderbook" and hpa["metrics"][0]["resource"]["name"] == "cpu"
    api = objects[("Deployment", "orderbook")]["spec"]["template"]["spec"]["containers"][0]
    assert api["resources"]["requests"]["cpu"]  # what CPU utilization is measured against
    ingress = objects[("Ingress", "exchange")]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    paths = {path["path"]: path["backend"]["service"]["name"] for path in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/api/docs": "web", "/api": "orderbook", "/socket.io": "web", "/": "web"}
    assert all(("Service", service) in objects for service in paths.values())
