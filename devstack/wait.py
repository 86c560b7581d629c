"""Wait until servers accept connections, then become the given command.

    python -m devstack.wait 127.0.0.1:6379 127.0.0.1:27017 -- python -m orderbook.serve ...
    python -m devstack.wait cluster:127.0.0.1:7001 127.0.0.1:27017 -- python -m orderbook.serve ...

``cluster:HOST:PORT``: until that Redis Cluster node serves every slot (devstack/cluster.py).

supervisord starts every program at once; this keeps an API replica or a
worker from crash-looping while Redis and MongoDB come up. It execs the
command, so `ps` shows the real command line and signals go straight to it.
"""
from __future__ import annotations

import os
import socket
import sys
import time

TIMEOUT_S = 60.0


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_for(addresses: list[tuple[str, int]], timeout: float = TIMEOUT_S, *,
             clusters: tuple[int, ...] = ()) -> None:
    """Until each address accepts connections, and each cluster node's port in ``clusters``
    serves every slot."""
    from devstack.procs import cluster_ok

    deadline = time.monotonic() + timeout
    for host, port in addresses:
        while not accepts_connections(host, port) or (port in clusters and not cluster_ok(port)):
            if time.monotonic() > deadline:
                raise SystemExit(f"devstack.wait: {host}:{port} not ready after {timeout:.0f}s")
            time.sleep(0.1)


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str]) -> None:
    if "--" not in argv:
        raise SystemExit("usage: python -m devstack.wait HOST:PORT ... -- COMMAND ...")
    split = argv.index("--")
    addresses, command = argv[:split], argv[split + 1:]
    if not command:
        raise SystemExit("devstack.wait: no command after --")
    clusters = tuple(parse_address(address.removeprefix("cluster:"))[1] for address in addresses
                     if address.startswith("cluster:"))
    wait_for([parse_address(address.removeprefix("cluster:")) for address in addresses], clusters=clusters)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
