"""MAX_POSITION: the shares of a symbol a user holds, with what their open buys may still buy, stay
within the limit, checked in the hold script so concurrent orders cannot pass it together."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from exchange import keys

ORDERS = "/api/v1/orders"
LIMIT = 110  # every user starts with 100 shares of each symbol


@pytest.fixture
def settings(settings):
    return replace(settings, max_position=LIMIT, rate_limit="")


def buy(client, headers, quantity: int, price: str = "10.00", **body):
    return client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": price, "quantity": quantity, **body},
                       headers=headers)


def buying(redis_client, user) -> int:
    return int(redis_client.hget(keys.account(user.user_id), "KRYP:buying") or 0)


def test_concurrent_buys_cannot_pass_the_limit_together(app, register, redis_client, settle, audit):
    alice = register("alice")
    answers: list[int] = []

    def place_some() -> None:
        client = app.test_client()
        for _ in range(3):
            answers.append(buy(client, alice, 3).status_code)

    threads = [threading.Thread(target=place_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 held: room for 10 more shares, so three buys of 3, whichever three got there first.
    assert sorted(answers) == [201] * 3 + [422] * 21
    assert buying(redis_client, alice) == 9
    settle()
    assert audit().ok


def test_fills_cancels_and_amends_move_the_room(client, register, redis_client, settle, audit):
    alice, bob = register("alice"), register("bob")
    resting = buy(client, alice, 6).json
    refused = buy(client, alice, 5, price="9.00")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "position_limit"
    assert "MAX_POSITION" in refused.json["error"]["message"]
    # A fill turns shares being bought into shares held: the room stays what it was.
    sold = client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "10.00", "quantity": 2},
                       headers=bob)
    assert sold.status_code == 201 and sold.json["status"] == "filled"
    settle()
    assert buying(redis_client, alice) == 4
    assert buy(client, alice, 5, price="9.00").status_code == 422
    # An amend cuts what the order may still buy; a cancel ends it.
    amended = client.patch(f"{ORDERS}/{resting['order_id']}", json={"quantity": 3}, headers=alice)
    assert amended.status_code == 200
    settle()
    assert buying(redis_client, alice) == 1
    assert buy(client, alice, 7, price="9.00").status_code == 201  # 102 held + 1 + 7 = 110
    assert client.delete(f"{ORDERS}/{resting['order_id']}", headers=alice).status_code == 200
    settle()
    assert buying(redis_client, alice) == 7
    # Sells are not limited, and shares on hold for a sell still count until sold (102 + 7 buying).
    assert client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "20.00", "quantity": 50},
                       headers=alice).status_code == 201
    assert buy(client, alice, 2, price="9.00").status_code == 422
    assert buy(client, alice, 5, symbol="ADAM").status_code == 201  # per symbol
    settle()
    report = audit()
    assert report.ok, report.problems


def test_a_client_order_id_keeps_its_position_refusal(client, register):
    alice = register("alice")
    assert buy(client, alice, 10).status_code == 201
    first = buy(client, alice, 1, client_order_id="one-more")
    again = buy(client, alice, 1, client_order_id="one-more")
    assert first.status_code == again.status_code == 422
    assert first.json["error"]["code"] == again.json["error"]["code"] == "position_limit"


def test_the_limit_is_off_by_default_and_a_positive_number_when_set():
    from exchange.config import Settings

    assert Settings.from_env({}).max_position is None
    assert Settings.from_env({"MAX_POSITION": "500"}).max_position == 500
    with pytest.raises(SystemExit):
        Settings.from_env({"MAX_POSITION": "0"})
