"""The live Socket.IO tier through real nginx with two web replicas (eventlet).

One stack for the module: redis-server, SecantusDB, an orderbook replica, the
workers, two web replicas and nginx, all with `make up`'s command lines.
Clients are python-socketio clients (long-polling first, then the websocket
upgrade, so the sticky cookie is exercised). Orders go through the REST API.
"""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from exchange_client.in_order import InOrderClient
from tests.stack import start_stack, start_web
from web.sticky import COOKIE

WAIT_S = 15


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=1, web_replicas=2, env={"RATE_LIMIT": ""}) as running:
        yield running


class LiveClient:
    """A python-socketio client that records every event and, like the page,
    subscribes again whenever it (re)connects."""

    EVENTS = ("hello", "book_snapshot", "book_update", "trade", "order", "ticker", "candle", "error",
              "subscribed", "unsubscribed", "session_ended")

    def __init__(self, base_url: str, token: str | None = None, subscriptions: list[dict] = ()):
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        self.subscriptions = list(subscriptions)
        self.gaps = 0
        self.books: dict[str, dict] = {}  # symbol -> {sequence, levels} rebuilt from snapshot + deltas
        # In order, as the page's client: python-socketio's own would run a later book_update's
        # handler ahead of an earlier one's (a false gap).
        self.sio = InOrderClient(reconnection_delay=0.2, reconnection_delay_max=1)
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name))
        self.sio.on("connect", self._connected)
        self.sio.connect(base_url, auth={"token": token} if token else None, wait_timeout=WAIT_S)

    def _connected(self):
        for subscription in self.subscriptions:
            self.sio.emit("subscribe", subscription)

    def _recorder(self, name):
        def record(data):
            with self.changed:
                self.events.append((name, data))
                if name == "book_snapshot":
                    self.books[data["symbol"]] = {"sequence": data["sequence"], "buy": dict(map(tuple, data["bids"])),
                                                  "sell": dict(map(tuple, data["asks"]))}
                elif name == "book_update":
                    self._apply(data)
                self.changed.notify_all()
        return record

    def _apply(self, update):
        book = self.books.get(update["symbol"])
        if book is None or update["prev_sequence"] != book["sequence"]:
            self.gaps += 1
            return
        book["sequence"] = update["sequence"]
        for side, price, quantity in update["changes"]:
            if quantity:
                book[side][price] = quantity
            else:
                book[side].pop(price, None)

    def book(self, symbol: str) -> dict:
        book = self.books[symbol]
        return {"symbol": symbol, "sequence": book["sequence"],
                "bids": sorted(map(list, book["buy"].items()), key=lambda level: -float(level[0])),
                "asks": sorted(map(list, book["sell"].items()), key=lambda level: float(level[0]))}

    def of(self, name: str) -> list[dict]:
        with self.changed:
            return [data for event, data in self.events if event == name]

    def wait_for(self, predicate, what: str, timeout: float = WAIT_S):
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}; got {self.events[-10:]}")

    @property
    def replica(self) -> str:
        return self.of("hello")[-1]["replica"]

    def close(self):
        self.sio.disconnect()


def register(base_url: str, name: str) -> tuple[str, dict]:
    resp = requests.post(f"{base_url}/api/v1/users", json={"username": f"{name}{random.randrange(10**9)}",
                                                           "password": "correct horse"}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["token"], {"Authorization": f"Bearer {resp.json()['token']}"}


def place(base_url: str, headers: dict, **order) -> dict:
    resp = requests.post(f"{base_url}/api/v1/orders", json=order, headers=headers, timeout=15)
    assert resp.status_code == 201, resp.text
    return resp.json()


def rest_book(base_url: str, symbol: str) -> dict:
    return requests.get(f"{base_url}/api/v1/book/{symbol}?depth=500", timeout=10).json()


def one_client_per_replica(stack, clients, **kwargs) -> dict[str, LiveClient]:
    """Connect until a client sits on each web replica (no cookie yet: round-robin)."""
    by_replica: dict[str, LiveClient] = {}
    for _ in range(8):
        client = LiveClient(stack.base_url, **kwargs)
        clients.append(client)
        client.wait_for(lambda: client.of("hello"), "hello")
        by_replica.setdefault(client.replica, client)
        if len(by_replica) == len(stack.web):
            return by_replica
    raise AssertionError(f"every client landed on {list(by_replica)}")


def test_each_replica_serves_health_and_the_page(stack):
    for number, proc in enumerate(stack.web, start=1):
        health = requests.get(f"http://127.0.0.1:{proc.port}/healthz", timeout=5)
        assert health.json()["replica"] == str(number) and health.cookies[COOKIE] == str(number)
    assert requests.get(f"{stack.base_url}/api/v1/healthz", timeout=5).status_code == 200
    page = requests.get(f"{stack.base_url}/", timeout=5)
    assert page.status_code == 200 and page.cookies[COOKIE] in ("1", "2")


def test_a_trade_reaches_subscribers_on_every_replica(stack, clients):
    by_replica = one_client_per_replica(stack, clients, subscriptions=[{"symbol": "ADAM", "channels": ["trades"]}])
    for replica, client in by_replica.items():
        # The sticky cookie names the replica that answered the handshake, and the
        # websocket upgrade (sent with that cookie) reached the same process.
        assert client.sio.eio.http.cookies.get(COOKIE) == replica
        assert client.sio.transport() == "websocket"
        client.wait_for(lambda c=client: c.of("subscribed"), "subscribed")

    _, seller = register(stack.base_url, "seller")
    _, buyer = register(stack.base_url, "buyer")
    place(stack.base_url, seller, symbol="ADAM", side="sell", type="limit", price="12.34", quantity=3)
    bought = place(stack.base_url, buyer, symbol="ADAM", side="buy", type="limit", price="12.40", quantity=2)
    trade_id = bought["fills"][0]["trade_id"]
    (rest_trade,) = requests.get(f"{stack.base_url}/api/v1/trades/ADAM?limit=1", timeout=5).json()["trades"]
    for client in by_replica.values():
        client.wait_for(lambda c=client: any(t["trade_id"] == trade_id for t in c.of("trade")), "the trade")
        (trade,) = [t for t in client.of("trade") if t["trade_id"] == trade_id]
        assert trade == {**rest_trade, "symbol": "ADAM"}
        assert (trade["price"], trade["quantity"], trade["taker_side"]) == ("12.34", 2, "buy")


def test_ticker_and_candles_reach_only_their_channels(stack, clients):
    """The ticker worker publishes once on the message queue; each replica delivers
    it to the symbol's ticker or candles room, never to other channels."""
    watcher = LiveClient(stack.base_url, subscriptions=[{"symbol": "ADAM", "channels": ["ticker", "candles"]}])
    tape = LiveClient(stack.base_url, subscriptions=[{"symbol": "ADAM", "channels": ["trades"]}])
    clients += [watcher, tape]
    for client in (watcher, tape):
        client.wait_for(lambda c=client: c.of("subscribed"), "subscribed")
    _, seller = register(stack.base_url, "tickseller")
    _, buyer = register(stack.base_url, "tickbuyer")
    place(stack.base_url, seller, symbol="ADAM", side="sell", type="limit", price="20.00", quantity=1)
    place(stack.base_url, buyer, symbol="ADAM", side="buy", type="limit", price="20.00", quantity=1)
    watcher.wait_for(lambda: watcher.of("candle"), "a candle with the trade")
    watcher.wait_for(lambda: watcher.of("ticker"), "a quote")
    assert {e["symbol"] for e in watcher.of("candle") + watcher.of("ticker")} == {"ADAM"}
    tape.wait_for(lambda: tape.of("trade"), "the trade")
    assert tape.of("ticker") == tape.of("candle") == [] and watcher.of("trade") == []


def test_deltas_rebuild_the_rest_book_after_a_burst_of_orders(stack, clients):
    by_replica = one_client_per_replica(stack, clients, subscriptions=[{"symbol": "KRYP", "channels": ["book"]}])
    for client in by_replica.values():
        client.wait_for(lambda c=client: "KRYP" in c.books, "the snapshot")
    traders = [register(stack.base_url, f"trader{n}")[1] for n in range(4)]

    def trade(headers: dict, seed: int) -> None:
        rng = random.Random(seed)
        mine = []
        for _ in range(30):
            if mine and rng.random() < 0.25:
                order_id = mine.pop(rng.randrange(len(mine)))
                requests.delete(f"{stack.base_url}/api/v1/orders/{order_id}", headers=headers, timeout=15)
                continue
            side = rng.choice(["buy", "sell"])
            price = f"{rng.randint(995, 1005) / 100:.2f}"
            resp = requests.post(f"{stack.base_url}/api/v1/orders", headers=headers, timeout=15, json={
                "symbol": "KRYP", "side": side, "type": "limit", "price": price, "quantity": rng.randint(1, 5)})
            if resp.status_code == 201 and resp.json()["status"] in ("new", "partially_filled"):
                mine.append(resp.json()["order_id"])

    with ThreadPoolExecutor(len(traders)) as pool:
        list(pool.map(trade, traders, range(len(traders))))
    # The feed sends an update only when a level changes, so the journal's last event must
    # change one for the client's sequence to reach REST's: a refused cancel (of an order
    # filled meanwhile) moves the sequence but no level.
    resp = requests.post(f"{stack.base_url}/api/v1/orders", headers=traders[0], timeout=15, json={
        "symbol": "KRYP", "side": "buy", "type": "limit", "price": "9.00", "quantity": 1})
    assert resp.status_code == 201 and resp.json()["status"] == "new"

    expected = rest_book(stack.base_url, "KRYP")
    assert expected["sequence"] > 100 and expected["bids"] and expected["asks"]

    def levels(book: dict) -> tuple:
        return book["bids"], book["asks"]
    for client in by_replica.values():
        # The marker's level change reaches the client, and every update before it chained on
        # (no gap: the client handles them in the order sent).
        client.wait_for(lambda c=client: levels(c.book("KRYP")) == levels(expected), "the last update")
        assert client.gaps == 0
        assert client.book("KRYP")["sequence"] <= rest_book(stack.base_url, "KRYP")["sequence"]
        updates = client.of("book_update")
        assert [u["prev_sequence"] for u in updates[1:]] == [u["sequence"] for u in updates[:-1]]


def test_order_events_reach_their_owner_only(stack, clients):
    alice_token, alice = register(stack.base_url, "alice")
    bob_token, bob = register(stack.base_url, "bob")
    alice_live = LiveClient(stack.base_url, token=alice_token)
    bob_live = LiveClient(stack.base_url, token=bob_token)
    anonymous = LiveClient(stack.base_url)
    clients += [alice_live, bob_live, anonymous]
    for client in (alice_live, bob_live, anonymous):
        client.wait_for(lambda c=client: c.of("hello"), "hello")
    assert alice_live.of("hello")[0]["user_id"] != bob_live.of("hello")[0]["user_id"]
    assert anonymous.of("hello")[0]["user_id"] is None

    sold = place(stack.base_url, alice, symbol="PUPS", side="sell", type="limit", price="5.00", quantity=4)
    bought = place(stack.base_url, bob, symbol="PUPS", side="buy", type="limit", price="5.00", quantity=4)
    resting = place(stack.base_url, alice, symbol="PUPS", side="sell", type="limit", price="9.00", quantity=1)
    assert requests.delete(f"{stack.base_url}/api/v1/orders/{resting['order_id']}", headers=alice,
                           timeout=10).status_code == 200

    alice_ids, bob_ids = {sold["order_id"], resting["order_id"]}, {bought["order_id"]}

    def kinds(client, order_id):
        return [(o["type"], o.get("status")) for o in client.of("order") if o["order_id"] == order_id]

    alice_live.wait_for(lambda: ("canceled", "canceled") in kinds(alice_live, resting["order_id"]), "alice's cancel")
    bob_live.wait_for(lambda: ("done", "filled") in kinds(bob_live, bought["order_id"]), "bob's fill")
    assert kinds(alice_live, sold["order_id"]) == [("accepted", None), ("fill", None), ("done", "filled")]
    assert kinds(alice_live, resting["order_id"]) == [("accepted", None), ("canceled", "canceled")]
    assert kinds(bob_live, bought["order_id"]) == [("accepted", None), ("fill", None), ("done", "filled")]
    (alice_fill,) = [o for o in alice_live.of("order") if o["type"] == "fill"]
    assert (alice_fill["liquidity"], alice_fill["price"], alice_fill["quantity"], alice_fill["side"]) == (
        "maker", "5.00", 4, "sell")
    time.sleep(0.5)  # anything misrouted would have arrived with the rest
    assert {o["order_id"] for o in alice_live.of("order")} == alice_ids
    assert {o["order_id"] for o in bob_live.of("order")} == bob_ids
    assert anonymous.of("order") == []


def test_a_bad_token_is_refused_with_its_reason(stack):
    refused = []
    sio = socketio.Client(reconnection=False)
    sio.on("connect_error", refused.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(stack.base_url, auth={"token": "forged"}, wait_timeout=WAIT_S)
    assert refused and refused[0]["data"]["code"] == "invalid_token"


def test_bad_subscribe_payloads_get_errors_and_the_connection_stays(stack, clients):
    client = LiveClient(stack.base_url)
    clients.append(client)
    client.wait_for(lambda: client.of("hello"), "hello")
    bad = ["KRYP", None, 42, {"symbol": 5}, {"symbol": "NOPE"}, {"symbol": "KRYP", "channels": "book"},
           {"symbol": "KRYP", "channels": ["gossip"]}, {"symbol": "KRYP", "channels": [{"x": 1}]}, [1, 2]]
    for payload in bad:
        client.sio.emit("subscribe", payload)
    client.sio.emit("unsubscribe", {"symbol": "NOPE"})
    client.wait_for(lambda: len(client.of("error")) == len(bad) + 1, "an error for each")
    codes = [e["code"] for e in client.of("error")]
    assert set(codes) == {"invalid_request", "unknown_symbol", "unknown_channel"}
    assert all(e["message"] for e in client.of("error"))
    assert client.sio.connected
    client.sio.emit("subscribe", {"symbol": "ADAM", "channels": ["book"]})
    client.wait_for(lambda: "ADAM" in client.books, "a snapshot after the errors")
    assert client.book("ADAM") == rest_book(stack.base_url, "ADAM")
    for proc in stack.web:
        assert "Traceback" not in proc.log()


def test_clients_of_a_killed_replica_come_back_through_nginx(stack, clients):
    by_replica = one_client_per_replica(stack, clients, subscriptions=[{"symbol": "ADAM", "channels": ["book"]}])
    survivor_replica = "2"
    victim = by_replica["1"]
    victim.wait_for(lambda: victim.of("book_snapshot"), "the first snapshot")
    snapshots_before = len(victim.of("book_snapshot"))

    stack.web[0].kill()  # SIGKILL: no goodbye to its clients
    stack.web[0].stop()  # reap it
    # It reconnects on its own; nginx sends its cookie ("1") to replica 1's upstream,
    # where replica 2 is the backup.
    victim.wait_for(lambda: len(victim.of("hello")) >= 2, "the reconnection", timeout=30)
    assert victim.replica == survivor_replica
    victim.wait_for(lambda: len(victim.of("book_snapshot")) > snapshots_before, "a fresh snapshot")
    assert victim.sio.eio.http.cookies.get(COOKIE) == survivor_replica

    _, seller = register(stack.base_url, "after")
    place(stack.base_url, seller, symbol="ADAM", side="sell", type="limit", price="77.00", quantity=1)
    expected = rest_book(stack.base_url, "ADAM")
    victim.wait_for(lambda: victim.books["ADAM"]["sequence"] >= expected["sequence"], "an update after")
    assert victim.book("ADAM") == expected

    # Bring it back for whoever runs after (same port, so nginx's config still holds).
    stack.web[0] = start_web(1, stack.web[0].port, stack.child_env, stack.web[0].log_dir)


def test_nginx_sends_each_cookie_to_its_replica_first(tmp_path):
    from devstack import nginx

    conf = nginx.write_conf(tmp_path, listen="127.0.0.1:1", orderbook=["127.0.0.1:2"],
                            web=["127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"])
    nginx.check(conf)
    text = conf.read_text()
    for number, port in ((1, 3), (2, 4), (3, 5)):
        block = text.split(f"upstream web_{number} {{")[1].split("}")[0].split(";")
        assert block[0].strip() == f"server 127.0.0.1:{port} max_fails=0"
        assert sorted(line.strip() for line in block[1:] if line.strip()) == sorted(
            f"server 127.0.0.1:{other} max_fails=0 backup" for other in (3, 4, 5) if other != port)
        assert f"{number} web_{number};" in text
    assert "proxy_pass http://$web_upstream;" in text
