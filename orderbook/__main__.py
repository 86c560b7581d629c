"""python -m orderbook halt SYMBOL [--for-s N] | resume SYMBOL

An operator halts a symbol (new orders get 422 symbol_halted; cancels go on) or
resumes it. Without --for-s a halt lasts until resumed.
"""
from __future__ import annotations

import argparse
import sys

import redis

from exchange.config import Settings
from orderbook.operator import set_trading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orderbook", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    halt = commands.add_parser("halt", help="halt a symbol's new orders")
    halt.add_argument("symbol")
    halt.add_argument("--for-s", type=int, default=None, help="reopen after this many seconds (default: never)")
    resume = commands.add_parser("resume", help="reopen a halted symbol")
    resume.add_argument("symbol")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "halt" and args.for_s is not None and args.for_s < 1:
        parser.error("--for-s must be at least 1")
    try:
        status = set_trading(redis.Redis.from_url(settings.redis_url), settings, args.symbol.upper(),
                             halt=args.command == "halt", for_s=getattr(args, "for_s", None))
    except ValueError as err:
        parser.error(str(err))
    except redis.exceptions.ConnectionError as err:
        print(f"Redis is unreachable at {settings.redis_url}: {err}", file=sys.stderr)
        return 1
    if status is None:
        print(f"{args.symbol.upper()}: no matcher answered in time (is the matching worker running?); the "
              "command stays queued, and the next order for the symbol applies it first", file=sys.stderr)
        return 1
    print(f"{args.symbol.upper()}: {status.get('status', 'trading (it was not halted)')}"
          + (f" until {status['halted_until']} ms" if status.get("halted_until") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
