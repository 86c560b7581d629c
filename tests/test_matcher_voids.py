"""Voids go through the book: an order id the book already knows is never voided, and a voided
id is refused for good, by this matcher, by the next one (reload) and by one that caught up."""
from __future__ import annotations

import time

import orjson
import pytest

from exchange import keys
from exchange.order_ids import new_order_id
from orderbook.batch import ORDER_MAX_AGE_MS
from orderbook.commands import encode_cancel, encode_new, encode_void
from orderbook.matcher import SymbolMatcher
from orderbook.model import NewOrder, Side

SYMBOL = "KRYP"


def new(order_id: str, user: str = "alice", side: Side = Side.BUY, price: int = 1000) -> bytes:
    order = NewOrder(order_id=order_id, user_id=user, side=side, quantity=5, price=price)
    return encode_new(order, symbol=SYMBOL, client_order_id=None, created_ms=1, hold=5 * price)


def run(client, matcher: SymbolMatcher, *commands: bytes) -> list[dict]:
    """Append commands, let ``matcher`` match them, return the journal events they made."""
    before = int(client.get(keys.seq(SYMBOL)) or 0)
    for command in commands:
        client.xadd(keys.inbox(SYMBOL), {"c": command})
    assert matcher.drain().held
    return [event for event in journal(client) if event["sequence"] > before]


def order_id_now() -> str:
    return new_order_id(SYMBOL, int(time.time() * 1000))


def journal(client) -> list[dict]:
    return [orjson.loads(fields[b"event"]) for _id, fields in client.xrange(keys.events(SYMBOL))]


@pytest.fixture
def matcher(redis_client):
    return SymbolMatcher(redis_client, SYMBOL)


def test_a_void_of_an_unknown_order_is_journaled_and_the_order_refused_after(redis_client, matcher):
    order_id = order_id_now()
    events = run(redis_client, matcher, encode_void(order_id, "alice", "cash"))
    assert [(e["type"], e["order_id"], e["asset"]) for e in events] == [("voided", order_id, "cash")]
    late = run(redis_client, matcher, new(order_id))
    assert [(e["type"], e["code"]) for e in late] == [("command_rejected", "order_voided")]
    state = orjson.loads(redis_client.hget(keys.orders(SYMBOL), order_id))
    assert (state["status"], state["reason"]) == ("rejected", "order_voided")
    assert redis_client.zcard(keys.bids(SYMBOL)) == 0
    assert run(redis_client, matcher, encode_void(order_id, "alice", "cash")) == []  # once only


@pytest.mark.parametrize("then", ["rests", "is canceled"])
def test_a_void_of_an_order_the_book_knows_does_nothing(redis_client, matcher, then):
    order_id = order_id_now()
    run(redis_client, matcher, new(order_id))
    if then == "is canceled":
        run(redis_client, matcher, encode_cancel(order_id, "alice"))
    fresh = SymbolMatcher(redis_client, SYMBOL)  # no cache: it must ask Redis about a done order
    assert run(redis_client, fresh, encode_void(order_id, "alice", "cash")) == []
    assert redis_client.zscore(keys.voided(SYMBOL), order_id) is None


def test_a_void_and_its_order_in_one_batch_keep_their_arrival_order(redis_client, matcher):
    first, second = order_id_now(), order_id_now()
    events = run(redis_client, matcher, new(first), encode_void(first, "alice", "cash"),
                 encode_void(second, "alice", "cash"), new(second))
    assert [e["type"] for e in events] == ["accepted", "rested", "voided", "command_rejected"]


def test_other_matchers_learn_of_a_void_by_reload_and_by_catch_up(redis_client, matcher):
    warm = SymbolMatcher(redis_client, SYMBOL)
    run(redis_client, warm, new(order_id_now(), price=900))  # warm has a cache
    voided = order_id_now()
    run(redis_client, matcher, encode_void(voided, "alice", "cash"))
    caught_up = run(redis_client, warm, new(voided))  # journal catch-up
    assert [e["code"] for e in caught_up] == ["order_voided"] and warm.cache.catch_ups == 1
    reloaded = run(redis_client, SymbolMatcher(redis_client, SYMBOL), new(voided))  # full reload
    assert [e["code"] for e in reloaded] == ["order_voided"]


def test_an_order_older_than_the_voided_memory_allows_is_refused(redis_client, matcher):
    ancient = new_order_id(SYMBOL, int(time.time() * 1000) - ORDER_MAX_AGE_MS - 60_000)
    events = run(redis_client, matcher, new(ancient))
    assert [(e["type"], e["code"]) for e in events] == [("command_rejected", "order_expired")]
