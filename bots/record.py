"""``python -m bots swarm --record FILE``: every order the exchange answered with a 2xx, one
JSON line each, with the token of the user who placed it.

A chaos run (devstack/chaos) reads the file back after its faults and asks each owner's
order list for every recorded order. The lines hold bearer tokens, so the file is
created readable by its owner only.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from exchange_client import ExchangeClient


class OrderRecord:
    """An append-only JSON-lines file shared by every bot thread of a swarm."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._out = os.fdopen(fd, "a", buffering=1)  # line-buffered: a killed swarm loses no whole line
        self._lock = threading.Lock()

    def add(self, api: ExchangeClient, order: dict) -> None:
        line = json.dumps({"order_id": order.get("order_id"), "symbol": order.get("symbol"),
                           "status": order.get("status"), "username": api.username,
                           "user_id": api.user_id, "token": api.token})
        with self._lock:
            self._out.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._out.close()


class RecordingClient(ExchangeClient):
    """An ExchangeClient that writes every order placed with a 2xx answer to an OrderRecord."""

    def __init__(self, base_url: str, record: OrderRecord, **kwargs):
        super().__init__(base_url, **kwargs)
        self.record = record

    def place_order(self, *args, **kwargs) -> dict:
        order = super().place_order(*args, **kwargs)  # raises ApiError on anything but a 2xx
        self.record.add(self, order)
        return order

    def place_orders(self, orders: list[dict]) -> list[dict]:
        answers = super().place_orders(orders)
        for answer in answers:
            if "error" not in answer:
                self.record.add(self, answer)
        return answers


def read_orders(path: str | Path) -> list[dict]:
    """The recorded orders; a last line cut short by a crash is skipped."""
    orders = []
    for line in Path(path).read_text().splitlines():
        try:
            orders.append(json.loads(line))
        except ValueError:
            continue
    return orders
