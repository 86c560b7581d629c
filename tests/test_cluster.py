"""The exchange on a Redis Cluster of three primaries (REDIS_CLUSTER=1): every process on the
cluster, and a seeded flow (tests/cluster_flow.py: six symbols, four submitters at once, two
matchers) ends exactly as the same flow on one redis-server: the same answers, order ends,
fills, books and balances.

On the cluster, while the flow runs:
- every primary's MONITOR sees each script, transaction and multi-key read touch one slot
  (checked against CLUSTER KEYSLOT);
- one of the two matchers is killed with SIGKILL halfway, and nothing is lost or doubled;
- afterwards one primary is restarted from its append-only file, and every acknowledged order,
  fill and balance is still there; ``python -m ledger check`` says OK.

And `make up` with REDIS_CLUSTER_NODES=6 (three primaries, each with a replica) runs the stack on
a local cluster under its supervisor, trades, and keeps it all across a restart. (The flow above
runs on three primaries, the other size REDIS_CLUSTER_NODES takes.)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import redis

from devstack.procs import ROOT, Proc, cluster_info, cluster_ok, free_port
from tests.cluster_flow import SYMBOLS, Run, outcome, submit
from tests.polling import wait_for
from tests.stack import start_stack
from tests.test_stack_nginx import session_members, wait_for_healthz

SEED = 20261206
ENV = {"SYMBOLS": ",".join(SYMBOLS), "RATE_LIMIT": "", "LEADERBOARD_MAX_AGE_S": "1"}
# Commands whose keys may span slots unless the code keeps them in one: what MONITOR checks.
SCRIPTS = {"EVAL", "EVALSHA"}
MULTI_KEY = {"XREAD", "BLPOP", "BRPOP", "MGET", "DEL", "UNLINK", "EXISTS", "SUNION", "SINTER"}


class SlotWatch:
    """MONITOR on each primary: the keys of every script call, multi-key command and MULTI/EXEC
    block, each group of which must share one slot."""

    def __init__(self, ports: list[int]):
        self.groups: list[tuple[str, list[str]]] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._watch, args=(port,), daemon=True) for port in ports]
        for thread in self.threads:
            thread.start()

    def _watch(self, port: int) -> None:
        node = redis.Redis(port=port, decode_responses=True)
        open_blocks: dict[str, list[str]] = defaultdict(list)  # client address -> keys inside its MULTI
        in_multi: set[str] = set()
        with node.monitor() as monitor:
            while not self.stopping.is_set():
                client, words = _monitored(monitor)
                if client == "lua":  # a script's own calls: Redis Cluster holds them to the script's slot
                    continue
                name = words[0].upper()
                if name == "MULTI":
                    in_multi.add(client)
                elif name == "EXEC" and client in in_multi:
                    in_multi.discard(client)
                    self.groups.append(("MULTI", open_blocks.pop(client, [])))
                elif client in in_multi:
                    open_blocks[client] += node.command_getkeys(*words) if len(words) > 1 else []
                elif name in SCRIPTS:
                    self.groups.append((name, words[3:3 + int(words[2])]))
                elif name in MULTI_KEY:
                    self.groups.append((name, node.command_getkeys(*words)))

    def cross_slot(self, client: redis.Redis) -> list:
        self.stopping.set()
        return [(name, found) for name, found in self.groups if len({client.keyslot(k) for k in found}) > 1]


def _monitored(monitor) -> tuple[str, list[str]]:
    """(the client, the command's arguments) of MONITOR's next line; redis-py's own parse joins the
    arguments with spaces, which a script's source or a message also holds."""
    line = monitor.connection.read_response()  # text: the watching client decodes responses
    _time, data = line.split(" ", 1)
    _db, client, command = monitor.monitor_re.match(data).groups()
    return client, [word.replace('\\"', '"') for word in monitor.command_re.findall(command)]


def restart(node: Proc) -> Proc:
    """Stop a cluster node (SIGTERM: it writes its append-only file) and start it again."""
    node.stop()
    return Proc(list(node.popen.args), port=node.port, log_dir=node.log_dir, name=node.name)


@pytest.mark.timeout(900)
def test_a_seeded_flow_ends_the_same_on_a_cluster_as_on_one_redis():
    with start_stack(replicas=2, matchers=2, env=ENV) as single:
        run = Run(single.base_url)
        submit(run, SEED)
        expected = outcome(run)
    assert expected["trades"] > 20 and len(expected["orders"]) > 150
    reasons = Counter(reason for _status, _filled, _quantity, reason in expected["orders"].values())
    assert {"filled", "canceled", "self_trade", "market_remainder", "ioc_remainder", "fok_not_fillable",
            "post_only_would_take"} <= set(reasons), reasons  # every kind of end the flow means to reach

    with start_stack(replicas=2, matchers=2, env=ENV, redis_cluster=3) as clustered:
        nodes = clustered.servers[:3]
        client = redis.RedisCluster(host="127.0.0.1", port=nodes[0].port)
        assert len({client.get_node_from_key(f"ob:{{{s}}}:seq").port for s in SYMBOLS}) >= 2
        watch = SlotWatch([node.port for node in nodes])
        run = Run(clustered.base_url)
        matcher = next(proc for proc in clustered.workers if proc.name == "matcher-1")
        submit(run, SEED, between=matcher.kill)
        got = outcome(run)
        assert not watch.cross_slot(client)
        kinds = Counter(name for name, _keys in watch.groups)
        print(f"\ncluster: every one of {dict(kinds)} touched one slot")
        assert kinds["EVALSHA"] > 1000 and kinds["MULTI"] and kinds["XREAD"]  # it watched the flow
        assert got == expected

        busiest = max(nodes, key=lambda node: redis.Redis(port=node.port).dbsize())
        clustered.servers[clustered.servers.index(busiest)] = restart(busiest)
        wait_for(lambda: all(cluster_ok(node.port) for node in nodes), "the restarted primary back in the cluster")
        time.sleep(1)  # the clients' slot maps settle
        assert outcome(run) == expected
        checked = subprocess.run([sys.executable, "-m", "ledger", "check"], capture_output=True, text=True,
                                 env={**os.environ, **clustered.child_env, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert checked.returncode == 0 and "ledger check: OK" in checked.stdout, checked.stdout + checked.stderr


def _devstack_up(env: dict, output: Path) -> subprocess.Popen:
    with open(output, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "devstack", "up"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(up: subprocess.Popen) -> None:
    up.send_signal(signal.SIGTERM)
    assert up.wait(60) == 0
    for leftover in session_members(up.pid):
        leftover.kill()


@pytest.mark.timeout(300)
def test_make_up_on_a_local_cluster_with_replicas_trades_and_keeps_it_across_a_restart(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MONGO_URL")}
    env.update(EXCHANGE_DATA_DIR=str(tmp_path / "data"), EXCHANGE_PORT=str(port), REDIS_CLUSTER_NODES="6",
               ORDERBOOK_REPLICAS="1", WEB_REPLICAS="1")
    output, base = tmp_path / "up.out", f"http://127.0.0.1:{port}/api/v1"
    up = _devstack_up(env, output)
    try:
        wait_for_healthz(f"{base}/healthz", up, output, timeout=90)
        assert "local cluster of 6 nodes" in output.read_text()
        node_ports = json.loads((tmp_path / "data" / "run" / "redis-cluster.json").read_text())
        shape = cluster_info(node_ports[0])
        assert (shape["cluster_known_nodes"], shape["cluster_size"]) == ("6", "3")  # 3 primaries serve slots
        assert sum(redis.Redis(port=p).info("replication")["role"] == "slave" for p in node_ports) == 3
        run = Run(f"http://127.0.0.1:{port}")
        for user in ("maker", "taker"):
            run.tokens[user] = {"Authorization": "Bearer " + run.api("POST", "/users", json={
                "username": user, "password": "correct horse battery"}).json()["token"]}
        assert run.api("POST", "/orders", "maker", json={"symbol": "PUPS", "side": "sell", "price": "5.00",
                                                          "quantity": 3}).status_code == 201
        taken = run.api("POST", "/orders", "taker", json={"symbol": "PUPS", "side": "buy", "price": "5.00",
                                                          "quantity": 3}).json()
        assert taken["status"] == "filled"
        wait_for(lambda: run.api("GET", "/account", "taker").json()["balances"]["PUPS"]["available"] == 103,
                 "the taker's shares settled")
        _stop(up)
        up = _devstack_up(env, output)  # the same nodes, ports and data: the cluster is not made again
        wait_for_healthz(f"{base}/healthz", up, output, timeout=90)
        assert run.api("GET", "/account", "taker").json()["balances"]["PUPS"] == {"available": 103, "on_hold": 0}
        assert run.api("GET", f"/orders/{taken['order_id']}", "taker").json()["status"] == "filled"
        ports = json.loads((tmp_path / "data" / "run" / "ports.json").read_text())
        stack_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0", "REDIS_CLUSTER": "1",
                     "MONGO_URL": f"mongodb://127.0.0.1:{ports['mongo']}/?directConnection=true"}
        checked = subprocess.run([sys.executable, "-m", "ledger", "check"], capture_output=True, text=True,
                                 env=stack_env, cwd=ROOT, timeout=120)
        assert "ledger check: OK" in checked.stdout, checked.stdout + checked.stderr
        _stop(up)
    finally:
        if up.poll() is None:
            up.kill()
