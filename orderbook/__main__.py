"""python -m orderbook halt SYMBOL [--for-s N] | resume SYMBOL | replay SYMBOL [--to-sequence N]

An operator halts a symbol (new orders get 422 symbol_halted; cancels go on),
resumes it, or rebuilds its book from the archived journal. Without --for-s a
halt lasts until resumed. A replay needs only MongoDB: it prints the book's
best levels, then on its last line {"symbol", "sequence", "hash"}, as
GET /api/v1/book/{symbol}/hash answers it for the live book.
"""
from __future__ import annotations

import argparse
import sys

import orjson

from exchange import redis_client
from exchange.config import Settings
from exchange.money import format_price
from orderbook.operator import set_trading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orderbook", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    halt = commands.add_parser("halt", help="halt a symbol's new orders")
    halt.add_argument("symbol")
    halt.add_argument("--for-s", type=int, default=None, help="reopen after this many seconds (default: never)")
    resume = commands.add_parser("resume", help="reopen a halted symbol")
    resume.add_argument("symbol")
    replay = commands.add_parser("replay", help="rebuild a book from the archived journal (MongoDB only)")
    replay.add_argument("symbol")
    replay.add_argument("--to-sequence", type=int, default=None, help="stop after this event (default: the last)")
    replay.add_argument("--epoch", type=int, default=None, help="the journal's epoch (default: the newest)")
    replay.add_argument("--depth", type=int, default=10, help="price levels printed per side")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "replay":
        return print_replay(settings, args)
    if args.command == "halt" and args.for_s is not None and args.for_s < 1:
        parser.error("--for-s must be at least 1")
    try:
        status = set_trading(redis_client.connect(settings), settings, args.symbol.upper(),
                             halt=args.command == "halt", for_s=getattr(args, "for_s", None))
    except ValueError as err:
        parser.error(str(err))
    except redis_client.UNAVAILABLE as err:
        print(f"Redis is unreachable at {settings.redis_url}: {err}", file=sys.stderr)
        return 1
    if status is None:
        print(f"{args.symbol.upper()}: no matcher answered in time (is the matching worker running?); the "
              "command stays queued, and the next order for the symbol applies it first", file=sys.stderr)
        return 1
    print(f"{args.symbol.upper()}: {status.get('status', 'trading (it was not halted)')}"
          + (f" until {status['halted_until']} ms" if status.get("halted_until") else ""))
    return 0


def print_replay(settings: Settings, args: argparse.Namespace) -> int:
    from exchange import mongo
    from orderbook.replay import ReplayMismatch, replay_archive

    symbol = args.symbol.upper()
    try:
        replay = replay_archive(mongo.database(settings.mongo_url, settings.mongo_db), symbol,
                                to_sequence=args.to_sequence, epoch=args.epoch)
    except ReplayMismatch as err:
        print(f"replay failed: {err}", file=sys.stderr)
        return 1
    bids, asks = replay.book.l2(args.depth)
    print(f"{symbol} at sequence {replay.sequence} (epoch {replay.epoch}){' HALTED' if replay.halted else ''}")
    print(f"{'bid qty':>10} {'bid':>10} | {'ask':<10} {'ask qty':<10}")
    for row in range(max(len(bids), len(asks))):
        bid = bids[row] if row < len(bids) else None
        ask = asks[row] if row < len(asks) else None
        print(f"{bid[1] if bid else '':>10} {format_price(bid[0]) if bid else '':>10} | "
              f"{format_price(ask[0]) if ask else '':<10} {ask[1] if ask else '':<10}")
    print(orjson.dumps(replay.state_hash()).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
