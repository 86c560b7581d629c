"""python -m devstack up [--dry-run]"""
from __future__ import annotations

import argparse

from devstack.up import up


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="run the whole stack in the foreground (Ctrl-C stops it)")
    start.add_argument("--dry-run", action="store_true", help="write the configs and print the plan, start nothing")
    args = parser.parse_args()
    if args.command == "up":
        up(dry_run=args.dry_run)


if __name__ == "__main__":
    main()
