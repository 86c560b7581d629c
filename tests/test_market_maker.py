"""The market maker against a real stack (nginx, two API replicas, workers): what it rests on the
book, and its inventory while another user keeps selling to it."""
from __future__ import annotations

import time

import pytest

from bots.strategies import MarketMaker, MarketMakerConfig
from exchange.money import format_cents, parse_cents
from exchange_client import ApiError, ExchangeClient
from tests.stack import start_stack

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=2) as running:
        yield running


def user(stack, name: str) -> ExchangeClient:
    client = ExchangeClient(stack.base_url)
    client.register(name, PASSWORD)
    return client


def shares(client: ExchangeClient, symbol: str) -> int:
    held = client.account()["balances"][symbol]
    return held["available"] + held["on_hold"]


def quotes(client: ExchangeClient, symbol: str) -> list[tuple[str, int, int]]:
    return sorted((o["side"], parse_cents(o["price"]), o["remaining_quantity"]) for o in client.open_orders(symbol))


def test_maker_rests_two_sided_quotes_within_its_spread_and_follows_the_reference(stack):
    other, maker_client = user(stack, "mm_other"), user(stack, "mm_quotes")
    other.place_order("KRYP", "buy", 2, price="49.00")
    other.place_order("KRYP", "sell", 2, price="51.00")  # mid 50.00
    config = MarketMakerConfig(fair_value=parse_cents("80.00"), spread_ticks=20, levels=3, level_spacing_ticks=5,
                               order_size=4, max_position=40, max_reference_spread_bps=1_500)
    maker = MarketMaker(maker_client, "KRYP", config)

    assert maker.play_round() and maker.stats.errors == {}
    expected = [("buy", 4_980, 4), ("buy", 4_985, 4), ("buy", 4_990, 4),
                ("sell", 5_010, 4), ("sell", 5_015, 4), ("sell", 5_020, 4)]
    assert quotes(maker_client, "KRYP") == expected
    book = maker_client.book("KRYP", depth=10)
    assert book["bids"][:3] == [["49.90", 4], ["49.85", 4], ["49.80", 4]] and book["bids"][3] == ["49.00", 2]
    assert book["asks"][:3] == [["50.10", 4], ["50.15", 4], ["50.20", 4]] and book["asks"][3] == ["51.00", 2]

    # The market moves without touching the maker's quotes: the other user now quotes 48.00 / 54.00
    # (mid 51.00). One refresh later the old quotes are gone and the new ones sit around 51.00.
    other.cancel_all("KRYP")
    other.place_order("KRYP", "buy", 2, price="48.00")
    other.place_order("KRYP", "sell", 2, price="54.00")
    first_ids = {o["order_id"] for o in maker_client.open_orders("KRYP")}
    assert maker.play_round() and maker.stats.errors == {} and maker.position == 0
    now_open = maker_client.open_orders("KRYP")
    assert not first_ids & {o["order_id"] for o in now_open}
    assert quotes(maker_client, "KRYP") == [(side, price + 100, qty) for side, price, qty in expected]
    book = maker_client.book("KRYP", depth=1)
    assert (book["bids"], book["asks"]) == ([["50.90", 4]], [["51.10", 4]])

    # No book and no trades: it quotes around its configured fair value.
    other.cancel_all("KRYP")
    assert maker.play_round()
    best_bid, best_ask = max(p for s, p, _ in quotes(maker_client, "KRYP") if s == "buy"), \
        min(p for s, p, _ in quotes(maker_client, "KRYP") if s == "sell")
    assert (best_bid, best_ask) == (7_990, 8_010)
    maker.shutdown()
    assert maker_client.open_orders() == []


def test_maker_inventory_stays_within_its_limit_while_being_hit(stack):
    hitter, maker_client = user(stack, "mm_hitter"), user(stack, "mm_inventory")
    start_shares = shares(maker_client, "ADAM")
    config = MarketMakerConfig(fair_value=parse_cents("20.00"), spread_ticks=10, levels=2, level_spacing_ticks=2,
                               order_size=5, skew_ticks_per_share=1, max_position=15)
    maker = MarketMaker(maker_client, "ADAM", config)
    sold_to_maker = 0
    rounds_at_limit = 0
    for _ in range(8):
        assert maker.play_round()
        resting = quotes(maker_client, "ADAM")
        bid_total = sum(q for side, _, q in resting if side == "buy")
        assert sold_to_maker + bid_total <= config.max_position  # even if every bid is hit, it stays inside
        assert any(side == "sell" for side, _, _ in resting)  # it always offers to reduce
        if sold_to_maker == config.max_position:
            rounds_at_limit += 1
            assert bid_total == 0 and maker_client.book("ADAM")["bids"] == []
        # The hitter sells more than the maker's whole bid side, every round.
        try:
            order = hitter.place_order("ADAM", "sell", 12, type="market", time_in_force="IOC")
            sold_to_maker += order["filled_quantity"]
        except ApiError as error:
            assert error.code == "no_liquidity" and sold_to_maker == config.max_position
        assert sold_to_maker <= config.max_position
    assert sold_to_maker == config.max_position and rounds_at_limit >= 3
    maker.play_round()
    assert maker.position == config.max_position  # what it counted from its own orders
    maker.shutdown()

    # Once settled, its account holds exactly the limit more shares than it started with.
    deadline = time.monotonic() + 30
    while shares(maker_client, "ADAM") != start_shares + config.max_position and time.monotonic() < deadline:
        time.sleep(0.1)
    assert shares(maker_client, "ADAM") == start_shares + config.max_position


def test_maker_skips_quotes_it_cannot_fund_on_a_real_exchange(stack):
    maker_client = user(stack, "mm_poor")
    owned = shares(maker_client, "PUPS")
    config = MarketMakerConfig(fair_value=parse_cents("10.00"), spread_ticks=10, levels=2, level_spacing_ticks=5,
                               order_size=owned * 3 // 4, skew_ticks_per_share=0, max_position=10 * owned)
    maker = MarketMaker(maker_client, "PUPS", config)
    assert maker.play_round()
    assert maker.stats.errors == {"insufficient_funds": 1}  # the second ask: it owns too few shares
    assert maker.backoff_until == 0
    sides = [side for side, _, _ in quotes(maker_client, "PUPS")]
    assert sorted(sides) == ["buy", "buy", "sell"]
    assert format_cents(maker.reference_price(0)) == "10.00"  # its own quotes' mid
    maker.shutdown()
