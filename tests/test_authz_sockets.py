"""Authorization sweep, Socket.IO: a user's private ``order`` events reach that user's sockets
and nobody else's, whatever a client emits.

One stack for the module: nginx, an API replica, the matcher and two web replicas (eventlet),
with `make up`'s command lines; clients connect through nginx. A misrouted event would arrive
with the events it was sent with, so each check waits until every replica's journal feeds have
passed everything the API journaled (their /healthz ``sequences``; a replica no client is
connected to reads no journal), then a quiet spell.
"""
from __future__ import annotations

import random
import time

import pytest
import requests
import socketio

from tests.stack import start_stack
from tests.test_web_live import LiveClient, one_client_per_replica

SYMBOLS = ("KRYP", "ADAM", "PUPS")
WAIT_S = 15
QUIET_S = 0.5
WITHIN_S = 2.0  # a revoked token's socket loses its private events within this
BOB_CID = "bob-private-cid"  # the client order id bob's first order carries


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=1, workers=("matcher",), web_replicas=2, env={"RATE_LIMIT": ""}) as running:
        yield running
        for replica in running.web:
            assert "Traceback" not in replica.log(), replica.log()[-4000:]


class User:
    def __init__(self, stack, name: str):
        self.stack = stack
        self.token: str | None = None
        self.username = f"{name}{random.randrange(10**9)}"
        created = self.call("POST", "/users", username=self.username, password="correct horse")
        assert created.status_code == 201, created.text
        self.user_id, self.token = created.json()["user_id"], created.json()["token"]
        self.order_ids: set[str] = set()

    def call(self, method: str, path: str, **body) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(method, f"{self.stack.base_url}/api/v1{path}", json=body or None,
                                headers=headers, timeout=15)

    def place(self, **order) -> dict:
        placed = self.call("POST", "/orders", type="limit", **order)
        assert placed.status_code == 201, placed.text
        self.order_ids.add(placed.json()["order_id"])
        return placed.json()


def connected(stack, clients: list, token: str | None = None, **kwargs) -> LiveClient:
    client = LiveClient(stack.base_url, token=token, **kwargs)
    clients.append(client)
    client.wait_for(lambda: client.of("hello"), "hello")
    return client


def caught_up(stack) -> None:
    """Every web replica has sent what the journals held when this was called; then a quiet spell."""
    journaled = {s: requests.get(f"{stack.base_url}/api/v1/book/{s}", timeout=10).json()["sequence"]
                 for s in SYMBOLS}
    for replica in stack.web:
        deadline = time.monotonic() + WAIT_S
        while True:
            health = requests.get(f"http://127.0.0.1:{replica.port}/healthz", timeout=5).json()
            shown = health["sequences"]
            if not health["following"] or all(shown[s] >= journaled[s] for s in SYMBOLS):
                break  # (a replica no client is connected to reads no journal: it owes nobody)
            assert time.monotonic() < deadline, f"{replica.name} stuck at {shown}, journals at {journaled}"
            time.sleep(0.05)
    time.sleep(QUIET_S)


def trade_as(bob: User, carol: User, alice: User | None = None) -> None:
    """Bob buys from carol (and from alice), rests an order, reduces it and cancels it."""
    carol.place(symbol="KRYP", side="sell", price="30.00", quantity=3)
    bob.place(symbol="KRYP", side="buy", price="30.00", quantity=3, client_order_id=BOB_CID)
    if alice is not None:
        alice.place(symbol="ADAM", side="sell", price="40.00", quantity=2)
        assert bob.place(symbol="ADAM", side="buy", price="40.00", quantity=2)["status"] == "filled"
    resting = bob.place(symbol="PUPS", side="buy", price="3.00", quantity=10)["order_id"]
    assert bob.call("PATCH", f"/orders/{resting}", quantity=5).status_code == 200
    assert bob.call("DELETE", f"/orders/{resting}").status_code == 200


def order_ids(client: LiveClient) -> set[str]:
    return {event["order_id"] for event in client.of("order")}


def mentions(client, user: User) -> list:
    """Every event that names one of the user's orders, the user, or bob's client order id."""
    names = [*user.order_ids, user.user_id, user.username, BOB_CID]
    return [(kind, data) for kind, data in client.events if any(name in str(data) for name in names)]


def test_a_signed_in_socket_gets_its_own_order_events_and_none_of_another_users(stack, clients):
    alice, bob, carol = User(stack, "alice"), User(stack, "bob"), User(stack, "carol")
    alice_sockets = one_client_per_replica(stack, clients, token=alice.token)
    anonymous = one_client_per_replica(stack, clients)
    bob_socket = connected(stack, clients, bob.token)

    trade_as(bob, carol, alice)
    caught_up(stack)
    assert order_ids(bob_socket) == bob.order_ids  # bob's own events flowed meanwhile
    for replica, socket in alice_sockets.items():
        assert order_ids(socket) == alice.order_ids, replica
        # Her fill against bob names her order, never his.
        assert [e["type"] for e in socket.of("order")] == ["accepted", "fill", "done"], replica
        assert mentions(socket, bob) == [], replica
    for replica, socket in anonymous.items():
        assert socket.of("order") == [] and mentions(socket, bob) == mentions(socket, alice) == [], replica


def hostile_events(bob: User) -> list[tuple[str, object]]:
    """Events a client might send to get into bob's room: his room, id or token named anywhere."""
    room = f"user:{bob.user_id}"
    return [
        ("subscribe", {"symbol": room}), ("subscribe", {"symbol": "KRYP", "channels": [room]}),
        ("subscribe", {"symbol": "KRYP", "channels": ["trades"], "room": room, "user_id": bob.user_id,
                       "token": bob.user_id}),
        ("subscribe", room), ("subscribe", [room]), ("subscribe", {"symbol": f"KRYP:{room}"}),
        ("unsubscribe", {"symbol": room}), ("unsubscribe", {"symbol": "KRYP", "channels": [room]}),
        ("join", {"room": room}), ("join_room", room), ("enter_room", room), ("rooms", room),
        (room, {}), ("order", {"user_id": bob.user_id}), ("message", room), ("hello", {"user_id": bob.user_id}),
        ("connect", (None, {"user_id": bob.user_id})), ("connect", (None, {"token": bob.user_id})),
        ("disconnect", room),
    ]


class Claimant:
    """A bare client that connects with any ``auth`` payload and records every event it gets."""

    def __init__(self, base_url: str, auth: dict, namespaces: list[str] | None = None):
        self.events: list[tuple[str, object]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, *data: self.events.append((event, data[0] if data else None)))
        self.sio.connect(base_url, auth=auth, namespaces=namespaces, wait_timeout=WAIT_S)

    def of(self, name: str) -> list:
        return [data for event, data in self.events if event == name]

    def close(self):
        self.sio.disconnect()


def test_no_client_event_or_auth_claim_joins_another_users_private_room(stack, clients):
    alice, bob, carol = User(stack, "alice"), User(stack, "bob"), User(stack, "carol")
    signed_in = one_client_per_replica(stack, clients, token=alice.token)
    anonymous = one_client_per_replica(stack, clients)
    # Naming bob in auth without his token is anonymous; his user id as a token is refused.
    claimants = [Claimant(stack.base_url, auth) for auth in (
        {"user_id": bob.user_id}, {"user": bob.user_id, "room": f"user:{bob.user_id}"})]
    clients += claimants
    for auth, namespace in (({"token": bob.user_id}, "/"), (None, f"/user:{bob.user_id}"), (None, "/user")):
        with pytest.raises(socketio.exceptions.ConnectionError):
            Claimant(stack.base_url, auth, namespaces=[namespace])
    sockets = [*signed_in.values(), *anonymous.values(), *claimants]
    for socket in sockets:
        for event, data in hostile_events(bob):
            socket.sio.emit(event, data)

    trade_as(bob, carol)
    alice.place(symbol="PUPS", side="sell", price="80.00", quantity=1)
    caught_up(stack)
    for socket in sockets:
        assert socket.sio.connected and mentions(socket, bob) == []
    for socket in signed_in.values():  # still alice's, and hers still arrive
        assert order_ids(socket) == alice.order_ids
        assert {hello["user_id"] for hello in socket.of("hello")} == {alice.user_id}
    for socket in [*anonymous.values(), *claimants]:
        assert socket.of("order") == [] and {hello["user_id"] for hello in socket.of("hello")} == {None}


def order_seen_by(user: User, socket: LiveClient) -> str:
    order_id = user.place(symbol="KRYP", side="buy", price="1.00", quantity=1)["order_id"]
    socket.wait_for(lambda: order_id in order_ids(socket), "its order event")
    return order_id


@pytest.mark.parametrize("trick", ["disconnect", "connect"])
def test_a_client_event_named_connect_or_disconnect_cannot_keep_a_revoked_tokens_private_events(
        stack, clients, trick):
    """Someone holding bob's token (stolen, say) sends the event the server calls on connect or
    disconnect, hoping to fall out of the token rechecks while staying in bob's room; bob logs
    out, and the socket must still lose his events within 2 s."""
    bob, thief = User(stack, "bob"), User(stack, "thief")
    stolen = connected(stack, clients, bob.token)
    if trick == "disconnect":
        stolen.sio.emit("disconnect", "transport close")
    else:
        stolen.sio.emit("connect", (None, {"token": thief.token}))
    order_seen_by(bob, stolen)  # the trick was handled before this event was sent

    assert bob.call("DELETE", "/sessions").status_code == 204
    logged_out = time.monotonic()
    stolen.wait_for(lambda: stolen.of("session_ended"), "session_ended", timeout=WITHIN_S + 3)
    assert time.monotonic() - logged_out <= WITHIN_S
    bob.token = bob.call("POST", "/sessions", username=bob.username, password="correct horse").json()["token"]
    control = connected(stack, clients, bob.token)
    seen = len(stolen.of("order"))
    order_seen_by(bob, control)
    caught_up(stack)
    assert len(stolen.of("order")) == seen and not stolen.sio.connected
