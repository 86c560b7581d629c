"""A swarm of strategy bots against one exchange, for a while, then a leaderboard.

``python -m bots swarm --url URL --duration SECONDS --makers N --traders M``
signs in N market makers and M traders (random walk, momentum and mean
reversion in turn) under usernames sharing a prefix, runs each in its own
thread at its own pace, and shows a progress bar. Its accounts are kept from run
to run (``bots.swarm_accounts``): a run logs them in and registers only those
missing, so swarms keep running under the per-address registration limit. When the time is up, or on
SIGINT/SIGTERM, it stops the bots, cancels their open orders, waits for their
holds to be released, and ranks them by mark-to-market value. Everything goes
through the public REST API.
"""
from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bots import swarm_accounts
from bots.factor import FactorConfig, FactorModel, pairs_in_order, parse_loadings
from bots.record import OrderRecord, RecordingClient
from bots.scoreboard import BotScore, rank
from bots.strategies import (
    TRADER_KINDS,
    MarketMaker,
    MarketMakerConfig,
    PairsConfig,
    PairsTrader,
    RandomWalkConfig,
    Strategy,
)
from bots.strategies.base import must_back_off
from exchange.money import format_cents, parse_cents
from exchange.valuation import Holdings
from exchange_client import ApiError, ExchangeClient

T = TypeVar("T")
# With --factor the makers and random walkers know each symbol's value: makers quote it tightly, and
# walkers trade close to it and leave no order resting at a value long gone, so prices follow values.
# A maker that knows the value quotes it 6 ticks wide and does not lean on its inventory (its
# limit still bounds it): (spread ticks, skew ticks per share).
FACTOR_MAKER = (6, 0)
FACTOR_WALKER = {"walk_ticks": 2, "order_offset_ticks": 6, "cross_ticks": 6, "max_open_orders": 1,
                 "market_order_pct": 60}  # most rounds trade, so each second has a last price
# A swarm runs for minutes: its pairs traders read a minute of 1s returns, too short to tell
# cointegration sharply, so they take a pair up to p < 0.35 and enter at z >= 1.0 (the defaults:
# p < 0.10, z >= 1.5); stricter, a one-minute swarm sometimes ended before either of them traded.
SWARM_PAIRS = partial(PairsConfig, stats_interval="1s", window=60, max_p_value=0.35, entry_z=1.0)
SETTLE_TIMEOUT_S = 20.0  # how long to wait for the bots' holds to be released at the end
# How long a call outside the bots' own rounds (registration, the final reads) keeps
# retrying an overloaded or unreachable exchange: a data store restarting takes seconds.
RETRY_FOR_S = 60.0


@dataclass
class SwarmConfig:
    url: str
    duration_s: float = 60.0
    makers: int = 3
    traders: int = 6
    symbols: list[str] | None = None  # None: every symbol the exchange lists
    seed: int | None = None
    prefix: str = ""  # usernames start with it; by default the one remembered for the URL, else a fresh one
    password: str = ""  # every bot's password; likewise
    accounts_file: Path | None = None  # where prefix and password are remembered; None: nowhere
    maker_interval_s: float = 2.0
    trader_interval_s: float = 1.0
    fair_value: int = 10_000  # ticks: where makers quote when a symbol has no book and no trades
    record: str | None = None  # a file to write every order answered 2xx to (bots/record.py)
    factor: bool = False  # the symbols' values co-move (bots/factor.py) and the bots trade around them
    loadings: str = ""  # the factor's loadings (bots.factor.parse_loadings); empty: the defaults
    pairs: int = 0  # pairs traders, on the most cointegrated pairs first

    def factor_config(self, symbols: list[str]) -> FactorConfig | None:
        return parse_loadings(self.loadings, symbols) if self.factor else None


@dataclass
class SwarmBot:
    username: str
    api: ExchangeClient
    strategy: Strategy
    start: Holdings
    thread: threading.Thread | None = None


@dataclass
class SwarmReport:
    prefix: str
    symbols: list[str]
    duration_s: float
    stopped_by: str
    standings: list[BotScore]
    bots: list[SwarmBot]
    trades: dict[str, int]  # trades on each symbol since the swarm started (everyone's, up to 1000)
    last_prices: dict[str, int | None]
    open_orders_left: int
    errors: Counter = field(default_factory=Counter)

    def totals(self) -> dict:
        stats = [bot.strategy.stats for bot in self.bots]
        return {"bots": len(self.bots), "orders_placed": sum(s.orders_placed for s in stats),
                "orders_canceled": sum(s.orders_canceled for s in stats),
                "shares_bought": sum(s.bought for s in stats), "shares_sold": sum(s.sold for s in stats),
                "trades": sum(self.trades.values()), "trades_by_symbol": self.trades,  # from the public tape
                "errors": dict(sum((s.errors for s in stats), Counter()) + self.errors),
                "open_orders_left": self.open_orders_left, "duration_s": round(self.duration_s, 1),
                "stopped_by": self.stopped_by}

    def as_dict(self) -> dict:
        by_name = {bot.username: bot for bot in self.bots}
        return {"prefix": self.prefix, "symbols": self.symbols,
                "last_prices": {s: None if p is None else format_cents(p) for s, p in self.last_prices.items()},
                "leaderboard": [{**s.as_dict(), "user_id": by_name[s.username].api.user_id,
                                 **by_name[s.username].strategy.stats.as_dict()} for s in self.standings],
                "totals": self.totals()}


# ---- building the swarm --------------------------------------------------------------------

def plan(config: SwarmConfig, symbols: list[str]) -> list[tuple[str, type[Strategy], object, str]]:
    """(name, strategy class, its config, symbol) for every bot: makers spread over symbols, then traders."""
    bots = []
    for i in range(config.makers):
        symbol = symbols[i % len(symbols)]
        layer = i // len(symbols)  # a second maker on a symbol quotes wider, behind the first
        spread, skew = FACTOR_MAKER if config.factor else (20, MarketMakerConfig.skew_ticks_per_share)
        maker_config = MarketMakerConfig(interval_s=config.maker_interval_s, fair_value=config.fair_value,
                                         spread_ticks=spread + 10 * layer, skew_ticks_per_share=skew)
        bots.append((f"mm{i + 1}", MarketMaker, maker_config, symbol))
    for i in range(config.traders):
        # Momentum and mean reversion need trades to read a trend from, so every symbol gets a
        # random walker first; the rest take the three kinds in turn.
        kind = 0 if i < len(symbols) else (i - len(symbols) + 1) % len(TRADER_KINDS)
        strategy, config_class = TRADER_KINDS[kind]
        symbol = symbols[i % len(symbols)]
        trader_config = config_class(interval_s=config.trader_interval_s)
        if hasattr(trader_config, "fair_value"):
            trader_config = replace(trader_config, fair_value=config.fair_value)
        if config.factor and isinstance(trader_config, RandomWalkConfig):
            trader_config = replace(trader_config, **FACTOR_WALKER)
        bots.append((f"{strategy.kind.replace('_', '')[:6]}{i + 1}", strategy, trader_config, symbol))
    pairs = pairs_in_order(symbols, config.factor_config(symbols))
    for i in range(config.pairs if pairs else 0):
        first, other = pairs[i % len(pairs)]
        bots.append((f"pairs{i + 1}", PairsTrader, SWARM_PAIRS(interval_s=config.trader_interval_s, other=other), first))
    return bots


def retrying(call: Callable[[], T], retry_for_s: float = RETRY_FOR_S) -> T:
    """call(), again after a growing pause while the exchange is overloaded or unreachable."""
    deadline = time.monotonic() + retry_for_s
    pause = 0.2
    while True:
        try:
            return call()
        except ApiError as error:
            if not must_back_off(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(5.0, pause * 2)


def new_api(config: SwarmConfig, record: OrderRecord | None) -> ExchangeClient:
    return RecordingClient(config.url, record) if record else ExchangeClient(config.url)


def sign_in(config: SwarmConfig, symbols: list[str], rng: random.Random, console: Console,
            record: OrderRecord | None = None) -> list[SwarmBot]:
    """The bots, logged in as an earlier run left them or registered now, under the remembered
    (or given, or fresh) prefix and password, which are then remembered for the next run.
    An exchange that is restarting is retried; a registration whose answer was lost is
    found by the retry's login."""
    identity = swarm_accounts.choose(config.accounts_file, config.url, config.prefix, config.password)
    config.prefix, config.password = identity.prefix, identity.password
    bots, registered = [], 0
    for name, strategy_class, strategy_config, symbol in plan(config, symbols):
        api = new_api(config, record)
        username = f"{config.prefix}-{name}"
        if retrying(lambda: swarm_accounts.sign_in(api, username, config.password)):
            registered += 1
        else:
            retrying(api.cancel_all)  # what an earlier run that was killed left open
        start = Holdings.from_balances(retrying(api.account)["balances"])
        strategy = strategy_class(api, symbol, strategy_config, rng=random.Random(rng.getrandbits(64)))
        bots.append(SwarmBot(username, api, strategy, start))
    swarm_accounts.remember(config.accounts_file, config.url, identity)
    console.log(f"registered {registered} and logged in {len(bots) - registered} bots as {config.prefix}-* "
                f"on {', '.join(symbols)}")
    return bots


# ---- running it ----------------------------------------------------------------------------

def run_bot(bot: SwarmBot, stop: threading.Event, first_delay_s: float) -> None:
    """The bot's thread: a round, a pause, until told to stop. play_round() never raises an ApiError."""
    if stop.wait(first_delay_s):
        return
    while not stop.is_set():
        bot.strategy.play_round()
        stop.wait(bot.strategy.config.interval_s)


def cancel_everything(bot: SwarmBot, errors: Counter, attempts: int = 20) -> int:
    """Cancel the bot's open orders on every symbol until none is left; the number still open."""
    try:
        bot.strategy.shutdown()  # its own symbol first, counting what filled since its last round
    except ApiError as error:
        errors[error.code] += 1
    left = -1
    for attempt in range(attempts):
        try:
            bot.api.cancel_all()
            left = len(bot.api.open_orders())
            if left == 0:
                return 0
        except ApiError as error:
            errors[error.code] += 1
            if not must_back_off(error):
                raise
        time.sleep(min(2.0, 0.2 * (attempt + 1)))
    return left


def wait_until_released(bots: list[SwarmBot], wait_s: float) -> None:
    """Settlement releases a canceled order's hold a moment later; value the accounts once
    nothing of theirs is on hold any more."""
    deadline = time.monotonic() + wait_s
    pending = list(bots)
    while pending and time.monotonic() < deadline:
        still = []
        for bot in pending:
            try:
                balances = bot.api.account()["balances"]
            except ApiError:
                still.append(bot)
                continue
            if any(amounts["on_hold"] not in (0, "0.00") for amounts in balances.values()):
                still.append(bot)
        pending = still
        if pending:
            time.sleep(0.2)


def last_prices(api: ExchangeClient, symbols: list[str]) -> dict[str, int | None]:
    prices = {}
    for symbol in symbols:
        trades = retrying(lambda: api.trades(symbol, limit=1))
        prices[symbol] = parse_cents(trades[0]["price"]) if trades else None
    return prices


def start_values(api: ExchangeClient, symbols: list[str], fair_value: int) -> dict[str, int]:
    """Where the factor model starts each symbol: its last trade, else the fair value."""
    return {symbol: price or fair_value for symbol, price in last_prices(api, symbols).items()}


def anchor(bots: list[SwarmBot], model: FactorModel, console: Console) -> None:
    """Every bot but the pairs traders trades around its symbol's value from the model."""
    for bot in bots:
        if not isinstance(bot.strategy, PairsTrader):
            bot.strategy.fundamental = model.fundamental(bot.strategy.symbol)
    for a, b in pairs_in_order(list(model.config.symbols), model.config):
        console.log(f"factor: {a}/{b} one-step return correlation {model.config.correlation(a, b):.2f}"
                    f"{', cointegrated' if model.config.cointegrated(a, b) else ''}")


def trades_since(api: ExchangeClient, symbols: list[str], start_ms: int) -> dict[str, int]:
    return {symbol: sum(1 for t in retrying(lambda: api.trades(symbol, limit=1000)) if t["time"] >= start_ms)
            for symbol in symbols}


def progress_line(bots: list[SwarmBot]) -> str:
    stats = [bot.strategy.stats for bot in bots]
    errors = sum(sum(s.errors.values()) for s in stats)
    return (f"orders {sum(s.orders_placed for s in stats)}  "
            f"filled {sum(s.bought + s.sold for s in stats)} sh  errors {errors}")


def drive(bots: list[SwarmBot], config: SwarmConfig, rng: random.Random, stop: threading.Event,
          console: Console) -> float:
    """Run every bot in its own thread until the duration is up or ``stop`` is set; the seconds it ran."""
    started = time.monotonic()
    for bot in bots:
        bot.thread = threading.Thread(target=run_bot, name=bot.username, daemon=True,
                                      args=(bot, stop, rng.uniform(0, bot.strategy.config.interval_s)))
        bot.thread.start()
    with Progress(TextColumn("[bold]swarm"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                  console=console) as progress:
        task = progress.add_task(progress_line(bots), total=config.duration_s)
        while not stop.wait(0.5):
            elapsed = time.monotonic() - started
            progress.update(task, completed=min(elapsed, config.duration_s), description=progress_line(bots))
            if elapsed >= config.duration_s:
                break
    stop.set()
    duration_s = time.monotonic() - started
    for bot in bots:
        bot.thread.join()
    return duration_s


def run(config: SwarmConfig, console: Console) -> SwarmReport:
    rng = random.Random(config.seed)
    public = ExchangeClient(config.url)
    symbols = config.symbols or [s["symbol"] for s in retrying(public.symbols)]
    record = OrderRecord(config.record) if config.record else None

    stop = threading.Event()
    stopped_by = ["duration"]

    def on_signal(signum, _frame) -> None:
        stopped_by[0] = signal.Signals(signum).name
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        bots = sign_in(config, symbols, rng, console, record)
        factor = config.factor_config(symbols)
        if factor is not None:
            anchor(bots, FactorModel(factor, start_values(public, symbols, config.fair_value),
                                     seed=rng.getrandbits(64)), console)
        start_ms = int(time.time() * 1000)
        duration_s = drive(bots, config, rng, stop, console)
    finally:
        stop.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.log(f"stopped ({stopped_by[0]}) after {duration_s:.1f}s; canceling open orders")
    errors: Counter = Counter()
    left = sum(cancel_everything(bot, errors) for bot in bots)
    if record:
        record.close()  # the cancels place nothing; every order is in the file now
    wait_until_released(bots, SETTLE_TIMEOUT_S)
    prices = last_prices(public, symbols)
    standings = [BotScore(bot.username, bot.strategy.kind, bot.strategy.symbol,
                          Holdings.from_balances(retrying(bot.api.account)["balances"]).value(prices),
                          bot.start.value(prices)) for bot in bots]
    return SwarmReport(config.prefix, symbols, duration_s, stopped_by[0], rank(standings), bots,
                       trades_since(public, symbols, start_ms), prices, left, errors)
