"""``python -m bots <command>``: ``swarm`` runs a swarm of strategy bots and prints a leaderboard;
``run`` runs one JSON rule through the API (bots/local.py)."""
from __future__ import annotations

import argparse
import sys

from bots import local, swarm_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bots", description="Bots that trade through the public API.")
    commands = parser.add_subparsers(dest="command", required=True)
    swarm_cli.add_arguments(commands.add_parser("swarm", help="run market makers and traders, then rank them"))
    local.add_arguments(commands.add_parser("run", help="run one JSON rule through the API until done or Ctrl-C"))
    args = parser.parse_args(argv)
    if args.command == "swarm":
        return swarm_cli.main(args)
    if args.command == "run":
        return local.run_main(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
