"""The swarm's factor model (bots/factor.py) and the pairs trader (bots/strategies/pairs.py), without a stack."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.stattools import coint

from bots.factor import FactorModel, default_factor, pairs_in_order, parse_loadings
from bots.strategies.pairs import PairsConfig, PairsTrader
from exchange_client import ApiError

SYMBOLS = ["KRYP", "ADAM", "PUPS"]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulate(steps: int, seed: int = 7) -> dict[str, np.ndarray]:
    clock = Clock()
    model = FactorModel(default_factor(SYMBOLS), dict.fromkeys(SYMBOLS, 10_000), seed=seed, clock=clock)
    paths = {symbol: [] for symbol in SYMBOLS}
    for step in range(steps):
        clock.now = step * model.config.step_s
        for symbol in SYMBOLS:
            paths[symbol].append(model.value(symbol))
    return {symbol: np.log(values) for symbol, values in paths.items()}


def test_the_model_gives_the_correlation_and_the_cointegration_it_promises():
    config = default_factor(SYMBOLS)
    logs = simulate(3000)
    for a, b in pairs_in_order(SYMBOLS, config):
        measured = np.corrcoef(np.diff(logs[a]), np.diff(logs[b]))[0, 1]
        assert measured == pytest.approx(config.correlation(a, b), abs=0.05), (a, b)  # rounding to ticks adds noise
        p_value = coint(logs[a], logs[b])[1]
        assert (p_value < 0.01) if config.cointegrated(a, b) else (p_value > 0.05), (a, b, p_value)
    assert pairs_in_order(SYMBOLS, config)[0] == ("KRYP", "ADAM")  # the one cointegrated pair first


def test_a_step_is_taken_once_whoever_asks_and_the_seed_decides_it():
    clock = Clock()
    model = FactorModel(default_factor(SYMBOLS), dict.fromkeys(SYMBOLS, 10_000), seed=1, clock=clock)
    clock.now = 5.5
    first = [model.value(symbol) for symbol in SYMBOLS]
    assert model.steps == 5 and [model.value(symbol) for symbol in SYMBOLS] == first
    later = Clock()
    again = FactorModel(default_factor(SYMBOLS), dict.fromkeys(SYMBOLS, 10_000), seed=1, clock=later)
    later.now = 5.9
    assert [again.value(symbol) for symbol in SYMBOLS] == first != [10_000] * 3


def test_loadings_are_read_and_checked():
    config = parse_loadings("kryp=1.5, PUPS=0.5~", SYMBOLS)
    assert config.symbols["KRYP"].loading == 1.5 and config.symbols["KRYP"].reverting
    assert config.symbols["PUPS"].loading == 0.5 and not config.symbols["PUPS"].reverting
    assert config.symbols["ADAM"] == default_factor(SYMBOLS).symbols["ADAM"]
    for bad in ("NOPE=1", "KRYP", "KRYP=x"):
        with pytest.raises(ValueError):
            parse_loadings(bad, SYMBOLS)


class FakeApi:
    """What the pairs trader reads and sends: /stats, /account, the last trade, IOC orders."""

    def __init__(self, z: float, p_value: float = 0.01, hedge_ratio: float = 1.5):
        self.pair = {"symbols": ["KRYP", "ADAM"], "hedge_ratio": hedge_ratio,
                     "cointegration": {"p_value": p_value}, "spread": {"z_score": z}}
        self.shares = {"KRYP": 100, "ADAM": 100}
        self.orders: list[tuple[str, str, int, str]] = []

    def stats(self, symbols, *, interval, window):
        assert symbols == ["KRYP", "ADAM"]
        return {"symbols": {"KRYP": {"last": "150.00"}, "ADAM": {"last": "100.00"}}, "pairs": [self.pair]}

    def account(self):
        return {"balances": {symbol: {"available": n, "on_hold": 0} for symbol, n in self.shares.items()}}

    def trades(self, symbol, limit):
        return [{"price": "150.00" if symbol == "KRYP" else "100.00"}]

    def place_order(self, symbol, side, quantity, *, price, time_in_force):
        assert time_in_force == "IOC"
        self.orders.append((symbol, side, quantity, price))
        self.shares[symbol] += quantity if side == "buy" else -quantity
        return {"order_id": str(len(self.orders)), "filled_quantity": quantity, "status": "filled"}


def trader(api: FakeApi, **config) -> PairsTrader:
    return PairsTrader(api, "KRYP", PairsConfig(other="ADAM", order_size=2, max_position=4, **config))


def test_a_rich_spread_sells_a_against_b_up_to_the_limit_and_unwinds_when_it_comes_back():
    api = FakeApi(z=2.0)
    bot = trader(api)
    bot.play_round()
    # 2 KRYP at $150 against 1.5 x $300 of ADAM at $100: 4.5 -> 4 shares (rounded to even)
    assert api.orders == [("KRYP", "sell", 2, "149.25"), ("ADAM", "buy", 4, "100.50")]
    bot.play_round()
    bot.play_round()  # at -4 KRYP: the limit
    assert [o[:3] for o in api.orders[2:]] == [("KRYP", "sell", 2), ("ADAM", "buy", 4)]
    api.pair["spread"]["z_score"] = 0.1
    bot.play_round()
    assert [o[:3] for o in api.orders[4:]] == [("KRYP", "buy", 4), ("ADAM", "sell", 8)]
    assert api.shares == {"KRYP": 100, "ADAM": 100} and bot.stats.errors == {}


def test_a_cheap_spread_buys_a_and_a_pair_that_does_not_cointegrate_is_left_alone():
    api = FakeApi(z=-2.0)
    trader(api).play_round()
    assert [o[:3] for o in api.orders] == [("KRYP", "buy", 2), ("ADAM", "sell", 4)]
    idle = FakeApi(z=-3.0, p_value=0.4)
    trader(idle).play_round()
    assert idle.orders == []


def test_too_few_candles_is_counted_not_fatal():
    api = FakeApi(z=0.0)

    def no_data(*args, **kwargs):
        raise ApiError(422, "insufficient_data", "KRYP: 1 interval closes in the window")

    api.stats = no_data
    bot = trader(api)
    assert bot.play_round() and bot.stats.errors == {"insufficient_data": 1} and api.orders == []
