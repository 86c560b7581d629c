"""The strategies' decisions against a small in-memory fake of the exchange client.

The fake keeps orders, a book snapshot and a trade tape; the tests drive
fills by hand, so each decision (quote prices, skew, position limits, the
reaction to refused or throttled requests) is checked exactly.
"""
from __future__ import annotations

import itertools
import random

import pytest

from bots.strategies import (
    MarketMaker,
    MarketMakerConfig,
    MeanReversionConfig,
    MeanReversionTrader,
    MomentumConfig,
    MomentumTrader,
    RandomWalkConfig,
    RandomWalkTrader,
)
from exchange.money import collar_down, collar_up, format_cents, parse_cents
from exchange_client import ApiError


class FakeClient:
    def __init__(self, bids=(), asks=(), last_prices=()):
        self.bids = [[format_cents(p), q] for p, q in bids]
        self.asks = [[format_cents(p), q] for p, q in asks]
        self.tape = list(last_prices)  # trade prices in ticks, oldest first
        self.orders: dict[str, dict] = {}
        self.placed: list[dict] = []
        self.errors: dict[str, list[ApiError]] = {}  # method name -> errors to raise on its next calls
        self.calls: list[str] = []
        self.ids = itertools.count(1)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.errors.get(name):
            raise self.errors[name].pop(0)

    def fail(self, name: str, status: int, code: str, times: int = 1) -> None:
        self.errors.setdefault(name, []).extend(ApiError(status, code, code) for _ in range(times))

    def place_order(self, symbol, side, quantity, *, type="limit", price=None, time_in_force="GTC",
                    post_only=False, client_order_id=None):
        self._call("place_order")
        order = {"order_id": f"{symbol}.{next(self.ids)}", "symbol": symbol, "side": side, "type": type,
                 "price": price, "quantity": quantity, "filled_quantity": 0, "remaining_quantity": quantity,
                 "status": "new", "time_in_force": time_in_force, "post_only": post_only}
        if time_in_force == "IOC":  # the fake fills every taker in full
            order.update(filled_quantity=quantity, remaining_quantity=0, status="filled")
        self.orders[order["order_id"]] = order
        self.placed.append(order)
        return dict(order)

    def place_orders(self, orders):
        """A batch: each order as place_order would answer it (its failures included), in order."""
        self._call("place_orders")
        answers = []
        for body in orders:
            try:
                answers.append(self.place_order(**body))
            except ApiError as error:
                answers.append({"error": {"code": error.code, "message": error.message}})
        return answers

    def fill(self, order_id: str, quantity: int) -> None:
        order = self.orders[order_id]
        order["filled_quantity"] += quantity
        order["remaining_quantity"] -= quantity
        order["status"] = "filled" if order["remaining_quantity"] == 0 else "partially_filled"

    def open(self) -> list[dict]:
        return [o for o in self.orders.values() if o["status"] in ("new", "partially_filled")]

    def open_orders(self, symbol=None):
        self._call("open_orders")
        return [dict(o) for o in self.open()]

    def order(self, order_id):
        self._call("order")
        return dict(self.orders[order_id])

    def cancel_order(self, order_id):
        self._call("cancel_order")
        order = self.orders[order_id]
        if order["status"] not in ("new", "partially_filled"):
            raise ApiError(409, "order_not_open", "closed")
        order["status"] = "canceled"
        return dict(order)

    def cancel_all(self, symbol=None):
        self._call("cancel_all")
        canceled = self.open()
        for order in canceled:
            order["status"] = "canceled"
        return {"canceled": [dict(o) for o in canceled]}

    def book(self, symbol, depth=10):
        self._call("book")
        return {"symbol": symbol, "bids": self.bids[:depth], "asks": self.asks[:depth]}

    def trades(self, symbol, limit=100):
        self._call("trades")
        return [{"price": format_cents(p), "quantity": 1} for p in reversed(self.tape[-limit:])]


def quotes_of(client: FakeClient, orders=None) -> list[tuple[str, int, int]]:
    return [(o["side"], parse_cents(o["price"]), o["quantity"]) for o in (orders or client.open())]


def maker(client, **overrides) -> MarketMaker:
    settings = dict(fair_value=10_000, spread_ticks=20, levels=3, level_spacing_ticks=5, order_size=5,
                    skew_ticks_per_share=1, max_position=50)
    config = MarketMakerConfig(**{**settings, **overrides})
    return MarketMaker(client, "KRYP", config)


# ---- market maker ------------------------------------------------------------------------

def test_maker_quotes_around_the_fair_value_on_an_empty_market():
    client = FakeClient()
    mm = maker(client)
    assert mm.play_round()
    assert sorted(quotes_of(client)) == sorted([
        ("buy", 9_990, 5), ("buy", 9_985, 5), ("buy", 9_980, 5),
        ("sell", 10_010, 5), ("sell", 10_015, 5), ("sell", 10_020, 5)])
    assert all(o["post_only"] and o["time_in_force"] == "GTC" for o in client.placed)


def test_maker_uses_the_book_mid_then_the_last_trade():
    tight = FakeClient(bids=[(5_000, 3)], asks=[(5_010, 3)], last_prices=[7_000])
    maker(tight, levels=1).play_round()
    assert sorted(quotes_of(tight)) == [("buy", 4_995, 5), ("sell", 5_015, 5)]  # mid 5005

    wide = FakeClient(bids=[(1_000, 3)], asks=[(9_000, 3)], last_prices=[7_000])  # no reference: too wide
    maker(wide, levels=1).play_round()
    assert sorted(quotes_of(wide)) == [("buy", 6_990, 5), ("sell", 7_010, 5)]

    one_sided = FakeClient(asks=[(8_000, 3)], last_prices=[6_000, 6_100])
    maker(one_sided, levels=1).play_round()
    assert sorted(quotes_of(one_sided)) == [("buy", 6_090, 5), ("sell", 6_110, 5)]


def test_maker_replaces_its_quotes_and_leans_against_its_inventory():
    client = FakeClient()
    mm = maker(client)
    mm.play_round()
    first = {o["order_id"] for o in client.open()}
    best_bid = next(o for o in client.open() if o["side"] == "buy" and parse_cents(o["price"]) == 9_990)
    client.fill(best_bid["order_id"], 5)  # someone sold it 5: long 5
    partly = next(o for o in client.open() if o["side"] == "buy" and parse_cents(o["price"]) == 9_985)
    client.fill(partly["order_id"], 2)  # and 2 more: long 7
    mm.play_round()
    assert mm.position == 7 and mm.stats.bought == 7
    assert not first & {o["order_id"] for o in client.open()}  # every old quote was replaced
    # long 7 -> every quote 7 ticks lower
    assert sorted(quotes_of(client)) == sorted([
        ("buy", 9_983, 5), ("buy", 9_978, 5), ("buy", 9_973, 5),
        ("sell", 10_003, 5), ("sell", 10_008, 5), ("sell", 10_013, 5)])

    ask = next(o for o in client.open() if o["side"] == "sell" and parse_cents(o["price"]) == 10_003)
    client.fill(ask["order_id"], 5)
    ask = next(o for o in client.open() if o["side"] == "sell" and parse_cents(o["price"]) == 10_008)
    client.fill(ask["order_id"], 5)
    mm.play_round()
    assert mm.position == -3  # short 3 -> quotes 3 ticks higher than neutral
    assert min(p for s, p, _ in quotes_of(client) if s == "sell") == 10_013
    assert max(p for s, p, _ in quotes_of(client) if s == "buy") == 9_993


def test_maker_never_rests_more_than_its_position_limit_allows():
    client = FakeClient()
    mm = maker(client, skew_ticks_per_share=0, max_position=12)
    mm.play_round()
    assert sum(q for s, _, q in quotes_of(client) if s == "buy") == 12  # 5 + 5 + 2, not 15
    for order in [o for o in client.open() if o["side"] == "buy"]:
        client.fill(order["order_id"], order["quantity"])  # every bid is hit before the refresh
    mm.play_round()
    assert mm.position == 12
    quotes = quotes_of(client)
    assert [s for s, _, _ in quotes] == ["sell"] * 3  # at the limit: only quotes that reduce it
    assert sum(q for _, _, q in quotes) == 15

    mm.position = 9  # 3 short of the limit
    assert sum(q for s, _, q in mm.quotes(10_000) if s == "buy") == 3
    mm.position = -12
    assert {s for s, _, _ in mm.quotes(10_000)} == {"buy"}


def test_maker_skips_a_quote_it_cannot_fund_and_keeps_the_rest():
    client = FakeClient()
    client.fail("place_order", 422, "insufficient_funds", times=2)
    mm = maker(client)
    assert mm.play_round()
    assert len(client.open()) == 4
    assert mm.stats.errors["insufficient_funds"] == 2
    assert mm.backoff_until == 0  # refused orders are no reason to slow down


def test_maker_quotes_in_one_batch_and_backs_off_when_part_of_it_is_rate_limited():
    now = [100.0]
    client = FakeClient()
    mm = MarketMaker(client, "KRYP", MarketMakerConfig(min_backoff_s=1.0), clock=lambda: now[0])
    assert mm.play_round()
    assert client.calls.count("place_orders") == 1 and len(client.open()) == 6
    client.fail("place_order", 429, "rate_limited", times=2)  # two orders of the next batch
    now[0] += 1
    assert mm.play_round()
    assert len(client.open()) == 4 and set(mm.working) == {o["order_id"] for o in client.open()}
    assert mm.stats.errors["rate_limited"] == 1 and mm.backoff_until == now[0] + 1.0


def test_maker_tracks_quotes_answered_pending():
    """Past ORDER_WAIT_MS a batch answers an order {"order_id", "status": "pending", ...} with no
    side: the maker still tracks it (and counts its fills once they show)."""
    client = FakeClient()
    mm = maker(client)
    answered = []

    def place_orders(orders):
        answered.extend(client.place_order(**order) for order in orders)
        return [{"order_id": order["order_id"], "client_order_id": None, "symbol": order["symbol"],
                 "status": "pending", "message": "accepted; matching is still in progress"} for order in answered]
    client.place_orders = place_orders
    assert mm.play_round() and mm.backoff_until == 0
    assert set(mm.working) == {order["order_id"] for order in answered} and len(answered) == 6
    bid = next(order for order in answered if order["side"] == "buy")
    client.fill(bid["order_id"], 2)
    mm.sync_working()
    assert mm.position == 2


def test_maker_backs_off_when_rate_limited_and_recovers():
    now = [100.0]
    client = FakeClient()
    mm = MarketMaker(client, "KRYP", MarketMakerConfig(min_backoff_s=1.0, max_backoff_s=3.0), clock=lambda: now[0])
    client.fail("book", 429, "rate_limited", times=3)
    assert mm.play_round()  # the 429 is caught, not raised
    assert mm.stats.errors["rate_limited"] == 1 and client.open() == []
    calls = len(client.calls)
    now[0] += 0.5
    assert not mm.play_round() and len(client.calls) == calls  # backing off: no request at all
    now[0] += 0.6
    assert mm.play_round()  # second 429: the pause doubles
    assert mm.backoff_s == 2.0
    now[0] += 2.1
    assert mm.play_round()
    assert mm.backoff_s == 3.0  # capped
    now[0] += 3.1
    assert mm.play_round()
    assert len(client.open()) == 6 and mm.backoff_s == 0.0


def test_connection_errors_and_5xx_also_back_off_but_never_raise():
    client = FakeClient()
    mm = maker(client)
    mm.play_round()
    client.fail("cancel_all", 0, "connection_error")
    assert mm.play_round() and mm.stats.errors["connection_error"] == 1 and mm.backoff_s > 0
    mm.backoff_until = 0
    client.fail("book", 502, "http_502")
    assert mm.play_round() and mm.stats.errors["http_502"] == 1 and mm.backoff_s > 0


# ---- random walk ---------------------------------------------------------------------------

def walker(client, seed: int, **overrides) -> RandomWalkTrader:
    return RandomWalkTrader(client, "ADAM", RandomWalkConfig(fair_value=10_000, **overrides), rng=random.Random(seed))


def test_random_walk_is_reproducible_from_its_seed():
    runs = []
    for _ in range(2):
        client = FakeClient(bids=[(9_990, 5)], asks=[(10_010, 5)])
        trader = walker(client, seed=7)
        for _ in range(30):
            trader.play_round()
        runs.append([(o["side"], o["type"], o["price"], o["quantity"]) for o in client.placed])
    assert runs[0] == runs[1]
    other = FakeClient(bids=[(9_990, 5)], asks=[(10_010, 5)])
    trader = walker(other, seed=8)
    for _ in range(30):
        trader.play_round()
    assert [(o["side"], o["type"], o["price"], o["quantity"]) for o in other.placed] != runs[0]


def test_random_walk_orders_stay_around_its_fair_value_and_include_market_orders():
    client = FakeClient(bids=[(9_990, 5)], asks=[(10_010, 5)])
    cfg = dict(walk_ticks=10, order_offset_ticks=30, cross_ticks=10, max_quantity=4, market_order_pct=20)
    trader = walker(client, seed=1, **cfg)
    kinds = set()
    for _ in range(200):
        before = len(client.placed)
        trader.play_round()
        order = client.placed[before]
        kinds.add(order["type"])
        assert 1 <= order["quantity"] <= 4
        if order["type"] == "limit":
            distance = parse_cents(order["price"]) - trader.fair
            assert (-30 <= distance <= 10) if order["side"] == "buy" else (-10 <= distance <= 30)
        else:
            assert order["price"] is None and order["time_in_force"] == "IOC"
        assert abs(trader.fair - 10_000) < 400  # the pull keeps the walk near the market
    assert kinds == {"limit", "market"}


def test_random_walk_keeps_at_most_its_open_orders_canceling_the_oldest():
    client = FakeClient(bids=[(9_990, 5)], asks=[(10_010, 5)])
    trader = walker(client, seed=3, market_order_pct=0, max_open_orders=3)
    for _ in range(10):
        trader.play_round()
        assert len(client.open()) <= 3
    assert [o["order_id"] for o in client.open()] == [o["order_id"] for o in client.placed[-3:]]


# ---- momentum and mean reversion -------------------------------------------------------------

def test_momentum_buys_an_up_trend_and_sells_a_down_trend():
    cfg = MomentumConfig(short_window=3, long_window=6, threshold_bps=10, order_size=4, slippage_bps=50)
    up = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_010, 1_020, 1_030])
    MomentumTrader(up, "PUPS", cfg).play_round()
    assert [(o["side"], o["price"], o["quantity"], o["time_in_force"]) for o in up.placed] == [
        ("buy", format_cents(collar_up(1_030, 50)), 4, "IOC")]

    down = FakeClient(last_prices=[1_030, 1_020, 1_010, 1_000, 1_000, 990])
    MomentumTrader(down, "PUPS", cfg).play_round()
    assert [(o["side"], o["price"]) for o in down.placed] == [("sell", format_cents(collar_down(990, 50)))]

    flat = FakeClient(last_prices=[1_000, 1_001, 1_000, 1_000, 1_001, 1_000])
    MomentumTrader(flat, "PUPS", cfg).play_round()
    few = FakeClient(last_prices=[1_000, 1_100])
    MomentumTrader(few, "PUPS", cfg).play_round()
    assert flat.placed == [] and few.placed == []


def test_momentum_stops_buying_at_its_position_limit():
    client = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_010, 1_020, 1_030])
    trader = MomentumTrader(client, "PUPS", MomentumConfig(short_window=3, long_window=6, order_size=4,
                                                           max_position=10))
    for _ in range(5):
        trader.play_round()
    assert [o["quantity"] for o in client.placed] == [4, 4, 2]
    assert trader.position == 10


def test_mean_reversion_sells_above_the_band_and_buys_below():
    cfg = MeanReversionConfig(window=5, band_bps=100, order_size=2, slippage_bps=20)
    high = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_000, 1_060])  # avg 1012, last 4.7% above
    MeanReversionTrader(high, "KRYP", cfg).play_round()
    assert [(o["side"], o["price"], o["quantity"]) for o in high.placed] == [
        ("sell", format_cents(collar_down(1_060, 20)), 2)]

    low = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_000, 950])
    MeanReversionTrader(low, "KRYP", cfg).play_round()
    assert [o["side"] for o in low.placed] == ["buy"]

    inside = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_000, 1_008])  # 0.6% above: inside the band
    MeanReversionTrader(inside, "KRYP", cfg).play_round()
    assert inside.placed == []


@pytest.mark.parametrize("code,status", [("insufficient_funds", 422), ("no_liquidity", 422)])
def test_traders_count_refused_orders_and_carry_on(code, status):
    client = FakeClient(last_prices=[1_000, 1_000, 1_000, 1_000, 950])
    trader = MeanReversionTrader(client, "KRYP", MeanReversionConfig(window=5, band_bps=100))
    client.fail("place_order", status, code)
    assert trader.play_round() and trader.stats.errors[code] == 1 and trader.position == 0
    assert trader.play_round() and trader.position == 3  # the next round trades again, no pause
