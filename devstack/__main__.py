"""python -m devstack up [--dry-run] | chaos [--duration S] [--seed N] [--min-faults M] [--keep]"""
from __future__ import annotations

import argparse
import secrets
import sys


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="run the whole stack in the foreground (Ctrl-C stops it)")
    start.add_argument("--dry-run", action="store_true", help="write the configs and print the plan, start nothing")
    chaos = commands.add_parser("chaos", help="run the stack under a bot swarm and faults, then check the books")
    chaos.add_argument("--duration", type=float, default=600.0, help="seconds of load and faults")
    chaos.add_argument("--seed", type=int, help="seed of the fault plan and the bots (default: a random one)")
    chaos.add_argument("--min-faults", type=int, default=15, help="fewest faults to inject")
    chaos.add_argument("--keep", action="store_true", help="keep the data dir and logs even if every check passes")
    args = parser.parse_args()
    if args.command == "up":
        from devstack.up import up
        up(dry_run=args.dry_run)
    elif args.command == "chaos":
        from rich.console import Console

        from devstack.chaos.run import ChaosOptions
        from devstack.chaos.run import chaos as run_chaos
        seed = args.seed if args.seed is not None else secrets.randbits(32)
        options = ChaosOptions(args.duration, seed, args.min_faults, args.keep)
        sys.exit(run_chaos(options, Console(highlight=False, soft_wrap=True)))


if __name__ == "__main__":
    main()
