"""docker-compose.yml, read as `docker compose config` would (variables interpolated, merge keys
resolved, profiles), without a Docker engine: every service's image, command and healthcheck;
nginx following replicas through Docker's DNS and published on 127.0.0.1 only; and the cluster
profile's Redis Cluster and MongoDB replica set, which compose/cluster.env points every process at.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
ONE_SHOTS = {"redis-cluster-init"}  # runs once (restart: "no"), so no healthcheck
SCALED = ("orderbook", "matcher", "ticker")  # `docker compose up --scale NAME=N`


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error} and $$."""
    def value(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        found = env.get(name)
        if operator == ":?" and not found:
            raise ValueError(f"{name}: {argument}")
        if operator in (":-", "-") and (found is None or (operator == ":-" and not found)):
            return argument
        return found or ""
    return VARIABLE.sub(value, text)


def interpolated(node: object, env: dict[str, str]) -> object:
    """Every string of the parsed file interpolated, as compose does after parsing."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    return node


def config(env: dict[str, str], profiles: tuple[str, ...] = ()) -> dict:
    document = interpolated(yaml.safe_load((ROOT / "docker-compose.yml").read_text()), env)
    document["services"] = {name: service for name, service in document["services"].items()
                            if not set(service.get("profiles", ())) or set(service["profiles"]) & set(profiles)}
    return document


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


BASE = {"SECRET_KEY": "x" * 48}
CLUSTER = {**BASE, **env_file(ROOT / "compose" / "cluster.env")}


def test_a_missing_secret_key_is_refused():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        config({})


@pytest.mark.parametrize("env, profiles", [(BASE, ()), (CLUSTER, ("cluster", "monitoring"))])
def test_every_service_has_an_image_a_command_that_exists_and_a_healthcheck(env, profiles):
    services = config(env, profiles)["services"]
    for name, service in services.items():
        assert service.get("image"), name
        command = service.get("command") or []
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, (name, command)
        if name not in ONE_SHOTS:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        depends_on = service.get("depends_on") or {}
        for needed, condition in (depends_on if isinstance(depends_on, dict) else dict.fromkeys(depends_on)).items():
            if isinstance(condition, dict) and condition.get("required") is False and needed not in services:
                continue  # another profile's, waited for only when it runs
            assert needed in services, (name, needed)
            if isinstance(condition, dict) and condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[needed], (name, needed)
    for name in SCALED:  # nothing fixes one container: a name, or a host port
        assert "container_name" not in services[name] and "ports" not in services[name]


def test_nginx_follows_replicas_through_dockers_dns_and_listens_on_this_machine_only():
    services = config(BASE, ("monitoring",))["services"]
    nginx = services["nginx"]
    environment = nginx["environment"]
    template = (ROOT / "nginx" / "nginx.conf.template").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) <= set(environment)
    assert environment["NGINX_RESOLVER"].startswith("resolver 127.0.0.11 valid=")
    upstreams = environment["ORDERBOOK_SERVERS"] + environment["WEB_UPSTREAMS"]
    servers = re.findall(r"server ([a-z0-9-]+):\d+([^;]*);", upstreams)
    assert servers and all(host in services and "resolve" in options for host, options in servers)
    assert upstreams.count("zone ") == 1 + environment["WEB_UPSTREAMS"].count("upstream ")
    published = [port for service in services.values() for port in service.get("ports", ())]
    assert published and all(port.startswith("127.0.0.1:") for port in published)


def test_the_cluster_profile_is_three_primaries_with_replicas_and_a_three_member_replica_set():
    services = config(CLUSTER, ("cluster",))["services"]
    nodes = [name for name in services if name.startswith("redis-node-")]
    assert len(nodes) == 6
    for name in nodes:
        command = services[name]["command"]
        assert command[command.index("--cluster-enabled") + 1] == "yes"
        assert command[command.index("--appendonly") + 1] == "yes"
        assert command[command.index("--cluster-announce-hostname") + 1] == name
    create = " ".join(services["redis-cluster-init"]["command"])
    assert "--cluster-replicas 1" in create and "for n in 1 2 3 4 5 6" in create
    members = [name for name in services if re.fullmatch(r"mongo-\d", name)]
    assert len(members) == 3
    assert all(services[m]["command"][services[m]["command"].index("--replSet") + 1] == "rs1" for m in members)
    initiate = " ".join(services["mongo-1"]["healthcheck"]["test"])
    assert all(f"host: '{member}:27017'" in initiate for member in members)
    app = services["orderbook"]["environment"]
    assert app["REDIS_CLUSTER"] == "1" and app["REDIS_URL"].split("//")[1].split(":")[0] in nodes
    assert app["MONGO_URL"].endswith("?replicaSet=rs1") and all(m in app["MONGO_URL"] for m in members)
    assert services["bot-runner"]["environment"]["REDIS_CLUSTER"] == "1"
    for name in ("orderbook", "matcher", "web-1", "web-2"):  # none starts before the cluster is joined
        assert services[name]["depends_on"]["redis-cluster-init"]["condition"] == "service_completed_successfully"
