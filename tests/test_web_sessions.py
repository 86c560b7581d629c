"""A signed-in socket's private events end with its token: within 2 s of a logout, or of the
token's expiry, the socket is told why (``session_ended``) and gets no more ``order`` events.

A real stack (nginx, an API replica, Redis, SecantusDB) and one web replica per async mode,
started with `make up`'s command line and a short TOKEN_TTL_S, so its tokens expire
within the test (the API's keep the default lifetime, so orders still go through REST)."""
from __future__ import annotations

import random
import time

import pytest
import requests

from devstack.procs import free_port
from tests.stack import start_stack, start_web
from tests.test_web_live import LiveClient

TOKEN_TTL_S = 8  # as the web replica checks tokens
WITHIN_S = 2.0
QUIET_S = 1.5  # how long a socket that lost its session is watched for stray order events


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=1, workers=False, env={"RATE_LIMIT": ""}) as running:
        yield running


@pytest.fixture(scope="module", params=["eventlet", "threading"])
def web_url(stack, request):
    env = {**stack.child_env, "SOCKETIO_ASYNC_MODE": request.param, "TOKEN_TTL_S": str(TOKEN_TTL_S)}
    replica = start_web(1, free_port(), env, stack.work_dir / "logs")
    yield f"http://127.0.0.1:{replica.port}"
    assert "Traceback" not in replica.log(), replica.log()[-4000:]
    replica.stop()


def api(stack, method: str, path: str, token: str | None = None, **body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{stack.base_url}/api/v1{path}", json=body or None, headers=headers, timeout=15)


def register(stack) -> tuple[str, str]:
    username = f"u{random.randrange(10**9)}"
    created = api(stack, "POST", "/users", username=username, password="correct horse")
    assert created.status_code == 201, created.text
    return username, created.json()["token"]


def order_seen_by(stack, token: str, watchers: list[LiveClient]) -> str:
    """Place an order and wait until every watcher got its `accepted` event; its id."""
    placed = api(stack, "POST", "/orders", token, symbol="KRYP", side="buy", price="1.00", quantity=1)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    for watcher in watchers:
        watcher.wait_for(lambda w=watcher: any(e["order_id"] == order_id for e in w.of("order")), "its order event")
    return order_id


def signed_in(web_url: str, token: str, clients: list) -> LiveClient:
    client = LiveClient(web_url, token=token)
    clients.append(client)
    client.wait_for(lambda: client.of("hello"), "hello")
    assert client.of("hello")[-1]["user_id"]
    return client


def assert_no_more_order_events(stack, user_token: str, ended: LiveClient, control: LiveClient) -> None:
    """An order of the same user reaches a socket still signed in, and not the ended one."""
    seen = len(ended.of("order"))
    order_seen_by(stack, user_token, [control])
    time.sleep(QUIET_S)
    assert len(ended.of("order")) == seen
    assert not ended.sio.connected


def test_a_logout_ends_the_sockets_private_events_within_2_seconds(stack, web_url, clients):
    username, token = register(stack)
    socket = signed_in(web_url, token, clients)
    order_seen_by(stack, token, [socket])

    assert api(stack, "DELETE", "/sessions", token).status_code == 204
    logged_out = time.monotonic()
    socket.wait_for(lambda: socket.of("session_ended"), "session_ended", timeout=10)
    assert time.monotonic() - logged_out <= WITHIN_S
    assert socket.of("session_ended") == [{"code": "invalid_token", "message": "the token was revoked"}]

    fresh = api(stack, "POST", "/sessions", username=username, password="correct horse").json()["token"]
    assert_no_more_order_events(stack, fresh, socket, signed_in(web_url, fresh, clients))


def test_an_expired_token_ends_the_sockets_private_events_within_2_seconds(stack, web_url, clients):
    before = time.time()
    username, token = register(stack)
    socket = signed_in(web_url, token, clients)
    order_seen_by(stack, token, [socket])

    socket.wait_for(lambda: socket.of("session_ended"), "session_ended", timeout=TOKEN_TTL_S + 10)
    ended_at = time.time()
    # itsdangerous stamps a token in whole seconds, so it expires up to 1 s before TTL after its issue.
    assert before + TOKEN_TTL_S - 1 <= ended_at <= time.time() and ended_at - (before + TOKEN_TTL_S) <= WITHIN_S + 1
    assert socket.of("session_ended")[0]["code"] == "token_expired"

    fresh = api(stack, "POST", "/sessions", username=username, password="correct horse").json()["token"]
    assert_no_more_order_events(stack, fresh, socket, signed_in(web_url, fresh, clients))


def test_sockets_of_other_sessions_and_anonymous_ones_stay(stack, web_url, clients):
    _username, token = register(stack)
    _other, other_token = register(stack)
    mine, others, anonymous = (signed_in(web_url, token, clients), signed_in(web_url, other_token, clients),
                               LiveClient(web_url))
    clients.append(anonymous)
    assert api(stack, "DELETE", "/sessions", token).status_code == 204
    mine.wait_for(lambda: mine.of("session_ended"), "session_ended", timeout=10)
    time.sleep(QUIET_S)
    assert others.sio.connected and anonymous.sio.connected and not others.of("session_ended")
    order_seen_by(stack, other_token, [others])
