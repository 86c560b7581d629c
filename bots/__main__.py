"""``python -m bots <command>``: ``swarm`` runs a swarm of strategy bots and prints a leaderboard."""
from __future__ import annotations

import argparse
import sys

from bots import swarm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bots", description="Bots that trade through the public API.")
    commands = parser.add_subparsers(dest="command", required=True)
    swarm.add_arguments(commands.add_parser("swarm", help="run market makers and traders, then rank them"))
    args = parser.parse_args(argv)
    if args.command == "swarm":
        return swarm.main(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
