"""Reconciliation never releases the hold of an order that reaches the book, whatever the timing.

Each test stops the world at one of the two windows where the old release freed a
hold whose order then traded (so its owner spent the same cash twice): an order
committed between reconciliation's reads, and a submitter stalled between its hold
and its append for longer than the grace period. Alice has $100.10: exactly the
hold of a buy of 10 @ 10.00 with its fee reserve.
"""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from exchange import keys
from ledger import reconcile
from orderbook.errors import ApiError
from orderbook.schemas import PlaceOrder

ORDERS = "/api/v1/orders"
BUY = {"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 10}
FAR_FUTURE_MS = 10**13  # reconcile as if the grace period had long passed


@pytest.fixture
def settings(settings):
    return replace(settings, starting_cash_cents=10_010)


class StalledSubmitter:
    """Places an order in a thread that stops between its hold and its append until let go."""

    def __init__(self, entry, user_id: str, client_order_id: str | None = None):
        self.entry, self.user_id = entry, user_id
        self.held, self.go, self.result = threading.Event(), threading.Event(), None
        self.order = PlaceOrder(**BUY, client_order_id=client_order_id)
        entry.after_hold = self._stall
        self.thread = threading.Thread(target=self._place)
        self.thread.start()
        assert self.held.wait(10)

    def _stall(self, order) -> None:
        self.order_id = order.order_id
        self.held.set()
        assert self.go.wait(30)

    def _place(self) -> None:
        try:
            self.result = self.entry.place(self.user_id, self.order)
        except ApiError as error:
            self.result = error

    def finish(self):
        self.go.set()
        self.thread.join(30)
        self.entry.after_hold = None
        return self.result


def cash(client, headers) -> dict:
    return client.get("/api/v1/account", headers=headers).json["balances"]["USD"]


def sell_twenty(client, register):
    bob = register("bob")
    for _ in range(2):
        assert client.post(ORDERS, json={**BUY, "side": "sell"}, headers=bob).status_code == 201
    return bob


def test_an_order_committed_between_reconciles_reads_keeps_its_hold(client, register, app, settle, audit,
                                                                    redis_client, settings, monkeypatch):
    alice = register("alice")
    entry = app.extensions["exchange"].entry
    stalled = StalledSubmitter(entry, alice.user_id)
    read_inboxes = reconcile._queued_order_ids

    def order_commits_meanwhile(*args):  # after the order states were read, before the inboxes are
        assert stalled.finish()[0] == 201
        return read_inboxes(*args)

    monkeypatch.setattr(reconcile, "_queued_order_ids", order_commits_meanwhile)
    lines = reconcile.void_orphan_holds(redis_client, settings, now_ms=FAR_FUTURE_MS)
    assert lines == [line for line in lines if line.startswith("kept ")] and len(lines) == 1
    settle()
    assert cash(client, alice) == {"available": "0.00", "on_hold": "100.10"}
    assert client.get(f"{ORDERS}/{stalled.order_id}", headers=alice).json["status"] == "new"

    second = client.post(ORDERS, json=BUY, headers=alice)  # the same cash cannot be spent twice
    assert second.status_code == 422 and second.json["error"]["code"] == "insufficient_funds"
    sell_twenty(client, register)
    settle()
    assert cash(client, alice) == {"available": "0.10", "on_hold": "0.00"}  # paid $100.00 once, as maker
    assert client.get("/api/v1/account", headers=alice).json["balances"]["KRYP"]["available"] == 110
    report = audit()
    assert report.ok, report.problems


def test_a_submitter_stalled_past_the_grace_finds_its_order_voided(client, register, app, settle, audit,
                                                                   redis_client, settings):
    alice = register("alice")
    entry = app.extensions["exchange"].entry
    stalled = StalledSubmitter(entry, alice.user_id, client_order_id="stalled-1")
    lines = reconcile.void_orphan_holds(redis_client, settings, now_ms=FAR_FUTURE_MS)
    assert len(lines) == 1 and lines[0].startswith("voided ") and stalled.order_id in lines[0]
    settle()
    assert cash(client, alice) == {"available": "100.10", "on_hold": "0.00"}

    late = stalled.finish()  # its append arrives after the void: the book refuses it
    assert isinstance(late, ApiError) and (late.status, late.code) == (422, "order_voided")
    shown = client.get(f"{ORDERS}/{stalled.order_id}", headers=alice).json
    assert (shown["status"], shown["reason"]) == ("rejected", "order_voided")  # never a phantom pending
    retry = client.post(ORDERS, json={**BUY, "client_order_id": "stalled-1"}, headers=alice)
    assert retry.status_code == 422 and retry.json["error"]["code"] == "order_voided"

    assert client.post(ORDERS, json=BUY, headers=alice).status_code == 201  # the released cash, once
    sell_twenty(client, register)
    settle()
    assert cash(client, alice) == {"available": "0.10", "on_hold": "0.00"}  # the maker fee reserve is back
    assert client.get("/api/v1/account", headers=alice).json["balances"]["KRYP"]["available"] == 110
    assert redis_client.zscore(keys.voided("KRYP"), stalled.order_id) is not None
    report = audit()
    assert report.ok, report.problems


def test_a_held_order_is_in_its_owners_list_from_its_hold_until_it_is_voided(client, register, app, settle,
                                                                             redis_client, settings):
    # The hold script lists the order in its owner's slot: an append that fails afterwards (its
    # symbol's Redis node restarting, say) cannot leave an acknowledged order out of the list.
    alice = register("alice")
    stalled = StalledSubmitter(app.extensions["exchange"].entry, alice.user_id)
    listed = keys.user_orders(alice.user_id)
    assert redis_client.zscore(listed, stalled.order_id) is not None
    shown = client.get(f"{ORDERS}/{stalled.order_id}", headers=alice).json
    assert shown["status"] == "pending"  # held, on its way to the book

    lines = reconcile.void_orphan_holds(redis_client, settings, now_ms=FAR_FUTURE_MS)
    assert len(lines) == 1 and stalled.order_id in lines[0]
    settle()  # settling 'voided' releases the hold and takes the order off the list
    assert redis_client.zscore(listed, stalled.order_id) is None
    assert cash(client, alice) == {"available": "100.10", "on_hold": "0.00"}
    assert client.get(f"{ORDERS}/{stalled.order_id}", headers=alice).status_code == 404  # no phantom pending
    late = stalled.finish()
    assert isinstance(late, ApiError) and late.code == "order_voided"
