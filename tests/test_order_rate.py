"""Placing orders is limited per user by the hold script (ORDER_RATE_LIMIT), in the round trip the
order makes anyway, not by the per-request limiter: a user over the rate gets 429 with
Retry-After, and nothing is held for the refused order."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask import request

from exchange import keys
from exchange.config import OrderRate

ORDERS = "/api/v1/orders"
BUY = {"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1}


@pytest.fixture
def settings(settings):
    return replace(settings, order_rate=OrderRate(3, 60_000), rate_limit="2/minute")


def test_a_user_over_the_order_rate_gets_429_with_retry_after_and_no_hold(client, register, redis_client):
    alice, bob = register("alice"), register("bob")
    placed = [client.post(ORDERS, json=BUY, headers=alice).status_code for _ in range(3)]
    assert placed == [201, 201, 201]  # three orders though the request limit is two a minute
    refused = client.post(ORDERS, json=BUY, headers=alice)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    account = redis_client.hgetall(keys.account(alice.user_id))
    holds = [field for field in account if field.startswith(b"hold:")]
    assert len(holds) == 3 and int(account[b"cash:on_hold"]) == 3 * 100  # the refused order holds nothing
    assert client.post(ORDERS, json=BUY, headers=bob).status_code == 201  # the rate is per user


def test_a_client_order_id_refused_for_the_rate_may_be_tried_again(client, register, redis_client):
    alice = register("alice")
    for _ in range(3):
        client.post(ORDERS, json=BUY, headers=alice)
    assert client.post(ORDERS, json={**BUY, "client_order_id": "later"}, headers=alice).status_code == 429
    redis_client.delete(keys.order_rate(alice.user_id))  # the window ends
    again = client.post(ORDERS, json={**BUY, "client_order_id": "later"}, headers=alice)
    assert again.status_code == 201  # the 429 was not recorded as the id's answer


def test_the_order_rate_takes_one_limit():
    with pytest.raises(SystemExit, match="ORDER_RATE_LIMIT"):
        OrderRate.parse("5/second;100/minute")
    assert OrderRate.parse("") is None and OrderRate.parse("50/second") == OrderRate(50, 1000)


def test_each_order_of_a_batch_counts_against_the_order_rate(client, register, redis_client):
    alice = register("alice")
    batch = client.post("/api/v1/orders/batch", json={"orders": [BUY] * 5}, headers=alice)
    assert 1 <= int(batch.headers["Retry-After"]) <= 60  # when the refused ones may be sent again
    answers = batch.json["orders"]
    assert [answer.get("status") or answer["error"]["code"] for answer in answers] == [
        "new", "new", "new", "rate_limited", "rate_limited"]  # though the request limit is two a minute
    account = redis_client.hgetall(keys.account(alice.user_id))
    assert len([field for field in account if field.startswith(b"hold:")]) == 3
    assert int(account[b"cash:on_hold"]) == 3 * 100


def test_the_request_limiter_does_no_work_on_placing_orders(app, client, register, monkeypatch):
    """Its hooks are skipped there, not only its limits (they cost the hot path CPU); elsewhere they run."""
    limiter = next(iter(app.extensions["limiter"]))
    asked = []
    monkeypatch.setattr(limiter, "identify_request", lambda: asked.append(request.endpoint) or request.endpoint)
    alice = register("alice")  # its registration is limited: one ask
    assert client.post(ORDERS, json=BUY, headers=alice).status_code == 201
    assert client.post("/api/v1/orders/batch", json={"orders": [BUY]}, headers=alice).status_code in (200, 201)
    assert client.get("/api/v1/account", headers=alice).status_code == 200
    assert asked == ["users.register", "account.account"]
