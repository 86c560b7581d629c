"""The swarm's command line: ``python -m bots swarm ...`` and the leaderboard it prints (bots/swarm.py runs it)."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bots import swarm_accounts
from bots.swarm import SwarmConfig, SwarmReport, run
from exchange.config import settings
from exchange.money import format_cents, parse_cents
from exchange_client import ApiError

# ---- showing the result --------------------------------------------------------------------

def leaderboard_table(report: SwarmReport) -> Table:
    table = Table(title=f"swarm {report.prefix}: leaderboard (mark-to-market at last prices)")
    for column in ("#", "bot", "kind", "symbol", "value", "start", "P&L", "orders", "errors"):
        table.add_column(column, justify="right" if column in ("#", "value", "start", "P&L", "orders") else "left")
    stats = {bot.username: bot.strategy.stats for bot in report.bots}
    for place, standing in enumerate(report.standings, 1):
        s = stats[standing.username]
        table.add_row(str(place), standing.username, standing.kind, standing.symbol, format_cents(standing.value),
                      format_cents(standing.start_value), format_cents(standing.pnl), str(s.orders_placed),
                      ", ".join(f"{code} {n}" for code, n in sorted(s.errors.items())) or "-")
    return table


def print_report(report: SwarmReport, console: Console) -> None:
    console.print(leaderboard_table(report))
    totals = report.totals()
    prices = ", ".join(f"{s} {'-' if p is None else format_cents(p)}" for s, p in report.last_prices.items())
    console.print(f"last prices: {prices}")
    console.print(f"orders placed {totals['orders_placed']}, canceled {totals['orders_canceled']}; "
                  f"trades {totals['trades']} ({', '.join(f'{s} {n}' for s, n in report.trades.items())}); "
                  f"shares bought {totals['shares_bought']}, sold {totals['shares_sold']}; "
                  f"duration {totals['duration_s']}s; stopped by {report.stopped_by}")
    console.print("errors: " + (", ".join(f"{code} {n}" for code, n in sorted(totals["errors"].items())) or "none"))
    if report.open_orders_left:
        console.print(f"[red]{report.open_orders_left} open orders could not be canceled[/red]")


def paced(given: float | None, default_s: float, factor: bool) -> float:
    """A bot's pause between rounds: as given, else the default, or 0.5 s with --factor, where
    prices must follow values that move every second."""
    if given is not None:
        return given
    return 0.5 if factor else default_s


def main(args) -> int:
    config = SwarmConfig(url=args.url, duration_s=args.duration, makers=args.makers, traders=args.traders,
                         symbols=args.symbols, seed=args.seed, prefix=args.prefix or "", password=args.password or "",
                         accounts_file=Path(args.accounts) if args.accounts else None,
                         maker_interval_s=paced(args.maker_interval, 2.0, args.factor),
                         trader_interval_s=paced(args.trader_interval, 1.0, args.factor),
                         fair_value=parse_cents(args.fair_value), record=args.record,
                         factor=args.factor, loadings=args.loadings or "", pairs=args.pairs)
    console = Console(stderr=args.json)
    if not console.is_terminal:
        console.width = max(console.width, 120)  # a log file is no reason to clip the leaderboard
    try:
        report = run(config, console)
    except ApiError as error:
        console.print(f"[red]swarm failed: {error}[/red]")
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report, console)
    return 0 if report.open_orders_left == 0 else 1


def add_arguments(parser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the exchange (nginx) base URL")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    parser.add_argument("--makers", type=int, default=3, help="market makers, spread over the symbols")
    parser.add_argument("--traders", type=int, default=6,
                        help="traders, spread over random walk, momentum and mean reversion")
    parser.add_argument("--symbols", nargs="+", help="symbols to trade (default: all the exchange lists)")
    parser.add_argument("--seed", type=int, help="seed for the bots' random choices")
    parser.add_argument("--prefix", help="username prefix (default: the one last used with this URL, else a fresh one)")
    parser.add_argument("--password", help="the bots' password (default: the one remembered for the prefix, else a "
                                           "fresh one)")
    parser.add_argument("--accounts", default=str(Path(settings().data_dir) / swarm_accounts.FILE_NAME),
                        help="file remembering each URL's prefix and password, so runs reuse their accounts "
                             "(default: %(default)s; empty: remember nothing)")
    parser.add_argument("--maker-interval", type=float, help="seconds between a maker's refreshes (default 2; "
                                                              "0.5 with --factor)")
    parser.add_argument("--trader-interval", type=float, help="seconds between a trader's rounds (default 1; "
                                                               "0.5 with --factor)")
    parser.add_argument("--fair-value", default="100.00", help="where makers quote a symbol with no price yet")
    parser.add_argument("--factor", action="store_true",
                        help="give the symbols values that co-move (a shared random factor plus each one's own "
                             "part; bots/factor.py); every bot but the pairs traders trades around them")
    parser.add_argument("--loadings", help="with --factor: SYM=LOADING,... (a trailing ~ makes that symbol's own "
                                           "part a random walk: it cointegrates with no one); default "
                                           "1.0, 0.8, 1.2 ..., the last symbol's own part a random walk")
    parser.add_argument("--pairs", type=int, default=0,
                        help="pairs traders (bots/strategies/pairs.py), on the most cointegrated pairs first")
    parser.add_argument("--json", action="store_true", help="print the final figures as JSON on stdout")
    parser.add_argument("--record", metavar="FILE",
                        help="append every order answered 2xx to FILE (JSON lines, with the owner's token)")
