"""`make up` on a local Redis Cluster: ``REDIS_CLUSTER_NODES=3`` (three primaries) or ``6``
(three primaries, each with a replica).

Each node is ``redis-server --cluster-enabled yes`` with its append-only file and its
``nodes.conf`` under ``<data>/redis/<port>``, run by supervisord like any program. The nodes
keep their ports from one start to the next (``<data>/run/redis-cluster.json``), since each
node's ``nodes.conf`` finds its peers by address. On the first start a one-shot program,
``python -m devstack.cluster create``, joins them with ``redis-cli --cluster create``; later
starts find the cluster made and leave it. Every other program waits until the cluster serves
every slot (``devstack.wait cluster:HOST:PORT``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from devstack.procs import cluster_info, cluster_node_command, cluster_port, create_cluster, wait_cluster_ok
from devstack.supervisor import Program
from devstack.wait import wait_for

WAIT_S = 60.0


def node_ports(ports_file: Path, nodes: int) -> list[int]:
    """The nodes' ports: those of the last start (kept in ``ports_file``), else fresh ones."""
    if ports_file.exists():
        kept = json.loads(ports_file.read_text())
        if len(kept) == nodes:
            return kept
        raise SystemExit(f"REDIS_CLUSTER_NODES={nodes}, but the cluster in this data dir has {len(kept)} nodes "
                         f"({ports_file}); use another EXCHANGE_DATA_DIR")
    ports = [cluster_port() for _ in range(nodes)]
    ports_file.write_text(json.dumps(ports) + "\n")
    return ports


def node_command(port: int, redis_dir: Path) -> list[str]:
    (redis_dir / str(port)).mkdir(parents=True, exist_ok=True)
    return cluster_node_command(port, redis_dir / str(port), appendonly=True)


def create_command(ports: list[int]) -> list[str]:
    return [sys.executable, "-m", "devstack.cluster", "create", *map(str, ports)]


def create(ports: list[int]) -> None:
    """Join the nodes into one cluster unless they already are one (a restart), and wait until
    it serves every slot. Six nodes or more get one replica per primary."""
    try:
        if any(int(cluster_info(port).get("cluster_slots_assigned", "0")) for port in ports):
            wait_cluster_ok(ports, WAIT_S)
        else:
            create_cluster(ports, replicas=1 if len(ports) >= 6 else 0, timeout_s=WAIT_S)
    except RuntimeError as failed:
        raise SystemExit(str(failed)) from None
    print(f"cluster of {len(ports)} nodes serving every slot", flush=True)


def programs(redis_dir: Path, ports_file: Path, nodes: int) -> tuple[list[Program], list[int]]:
    """The cluster's node programs and its one-shot creation; and the nodes' ports."""
    ports = node_ports(ports_file, nodes)
    made = [Program(f"redis-{number}", node_command(port, redis_dir), priority=10)
            for number, port in enumerate(ports, start=1)]
    made.append(Program("redis-cluster", create_command(ports), priority=11, oneshot=True))
    return made, ports


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[0] != "create":
        raise SystemExit("usage: python -m devstack.cluster create PORT PORT PORT ...")
    ports = [int(port) for port in argv[1:]]
    wait_for([("127.0.0.1", port) for port in ports])
    create(ports)


if __name__ == "__main__":
    main(sys.argv[1:])
