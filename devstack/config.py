"""What the one-machine stack is told by its environment, read in one place.

The shared settings (data dir, port, replicas) come from ``exchange.config``;
the only thing devstack needs beyond them is whether ``REDIS_URL``,
``MONGO_URL`` and ``SECRET_KEY`` were given at all, since an unset one means
"start it here" (or, for the key, "use this data dir's own random key").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from exchange.config import Settings


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    exchange_port: int
    orderbook_replicas: int
    matcher_replicas: int
    web_replicas: int
    redis_url: str | None  # None: start a local redis-server (or cluster)
    redis_cluster_nodes: int  # 0: one redis-server; 3 or more: a local Redis Cluster of that many nodes
    mongo_url: str | None  # None: start the embedded SecantusDB
    secret_key: str | None  # None: the data dir's own random key (devstack.up.stack_secret)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "StackConfig":
        env = dict(os.environ if env is None else env)
        settings = Settings.from_env(env)
        if settings.orderbook_replicas < 1:
            raise SystemExit("ORDERBOOK_REPLICAS must be at least 1")
        if settings.matcher_replicas < 1:
            raise SystemExit("MATCHER_REPLICAS must be at least 1")
        if settings.web_replicas < 0:
            raise SystemExit("WEB_REPLICAS must be 0 or more")
        try:
            nodes = int(env.get("REDIS_CLUSTER_NODES") or 0)
        except ValueError:
            raise SystemExit("REDIS_CLUSTER_NODES must be a number of nodes (3, or 6 with replicas)") from None
        if nodes and (nodes < 3 or env.get("REDIS_URL")):
            raise SystemExit("REDIS_CLUSTER_NODES must be 3 or more (6: each primary with a replica), "
                             "and REDIS_URL unset (the cluster is started here)")
        return cls(
            data_dir=Path(settings.data_dir).resolve(),
            exchange_port=settings.exchange_port,
            orderbook_replicas=settings.orderbook_replicas,
            matcher_replicas=settings.matcher_replicas,
            web_replicas=settings.web_replicas,
            redis_url=env.get("REDIS_URL") or None,
            redis_cluster_nodes=nodes,
            mongo_url=env.get("MONGO_URL") or None,
            secret_key=env.get("SECRET_KEY") or None,
        )
