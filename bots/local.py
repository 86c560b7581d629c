"""``python -m bots run RULE.json --url URL --username U --password P``: run one rule from here.

The rule runs in this process, through the public REST API as the user who
logs in: it polls the ticker (and the account, when the rule reads $position
or $cash), fires each step when its $when holds, and prints every step, until
the chain is done, the exchange refuses an action (exit 1) or Ctrl-C (exit 130).
It is checked against the exchange's listed symbols first (exit 2 if invalid).
"""
from __future__ import annotations

import argparse
import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Callable

from bots.rules import MarketView, Quote, Rule, RuleError, evaluate, market_symbols, parse_rule, reads_holdings
from bots.runner.actions import describe, execute, is_transient
from exchange.money import parse_cents
from exchange.valuation import Holdings
from exchange_client import ApiError, ExchangeClient


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", help="the rule's JSON file (see bots/rules/schema.json)")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the exchange (default %(default)s)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks (default %(default)s)")


def _cents(text: str | None) -> int | None:
    return None if text is None else parse_cents(text, allow_zero=True)


class LocalRun:
    def __init__(self, api: ExchangeClient, rule: Rule, interval_s: float, say: Callable[[str], None] = print):
        self.api = api
        self.steps = rule.steps()
        self.interval_s = interval_s
        self.say = say
        self.run_id = uuid.uuid4().hex[:12]

    def view(self, step: Rule) -> MarketView:
        quotes = {}
        for symbol in sorted(market_symbols(step)):
            ticker = self.api.ticker(symbol)
            quotes[symbol] = Quote(last=_cents(ticker.get("last")), bid=_cents(ticker.get("bid")),
                                   ask=_cents(ticker.get("ask")))
        if not reads_holdings(step):
            return MarketView(quotes=quotes)
        holdings = Holdings.from_balances(self.api.account()["balances"])
        return MarketView(quotes=quotes, positions=dict(holdings.shares), cash=holdings.cash)

    def wait_until_fires(self, step: Rule) -> None:
        while True:
            try:
                view = self.view(step)
            except ApiError as error:
                self.say(f"  market data unavailable ({error}); retrying")
            else:
                if evaluate(step, view):
                    return
            time.sleep(self.interval_s)

    def act(self, number: int, step: Rule) -> bool:
        for index, action in enumerate(step.do):
            while True:
                try:
                    result = execute(self.api, action, f"rule.{self.run_id}.{number}.{index}")
                    break
                except ApiError as error:
                    if not is_transient(error):
                        self.say(f"  action {index + 1} {describe(action)} refused: {error.code}: {error.message}")
                        return False
                    self.say(f"  action {index + 1}: {error}; retrying")
                    time.sleep(self.interval_s)
            self.say(f"  action {index + 1}: {describe(action)} -> {result}")
        return True

    def run(self) -> int:
        total = len(self.steps)
        try:
            for number, step in enumerate(self.steps):
                self.say(f"step {number + 1}/{total}: waiting" + (" for its $when" if step.when else ""))
                self.wait_until_fires(step)
                self.say(f"step {number + 1}/{total}: fired")
                if not self.act(number, step):
                    self.say("stopped: the exchange refused an action")
                    return 1
        except KeyboardInterrupt:
            self.say("stopped (Ctrl-C); orders already placed stay on the book")
            return 130
        self.say("done")
        return 0


def run_main(args: argparse.Namespace) -> int:
    try:
        document = json.loads(Path(args.rule).read_text(), parse_float=Decimal)
    except (OSError, ValueError) as error:
        print(f"cannot read {args.rule}: {error}")
        return 2
    api = ExchangeClient(args.url)
    try:
        api.login(args.username, args.password)
        symbols = [listed["symbol"] for listed in api.symbols()]
    except ApiError as error:
        print(f"cannot sign in at {args.url}: {error}")
        return 2
    try:
        rule = parse_rule(document, symbols)
    except RuleError as error:
        print(f"invalid rule: {error}")
        return 2
    print(f"running {args.rule} ({len(rule.steps())} steps) as {args.username} on {args.url}")
    return LocalRun(api, rule, args.interval).run()
