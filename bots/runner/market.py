"""What the runner evaluates rules against, read from Redis: the same data GET /ticker
and GET /account answer with, without a request per bot or the API's rate limits."""
from __future__ import annotations

from typing import Iterable

import redis

from bots.rules import Quote
from exchange.money import CASH
from exchange.top_of_book import read_tops
from ledger.accounts import Accounts, NoAccount


def quotes(client: redis.Redis, symbols: Iterable[str]) -> dict[str, Quote]:
    """Last trade, best bid and best ask (cents) of each symbol."""
    return {symbol: Quote(last=top.last, bid=top.bid, ask=top.ask)
            for symbol, top in read_tops(client, sorted(symbols)).items()}


def holdings(accounts: Accounts, owner_id: str) -> tuple[int | None, dict[str, int] | None]:
    """(cash cents, {symbol: shares}) of an owner, each available + on hold; (None, None) without an account."""
    try:
        balances = accounts.balances(owner_id)
    except NoAccount:
        return None, None
    totals = {asset: amounts["available"] + amounts["on_hold"] for asset, amounts in balances.items()}
    return totals.pop(CASH, 0), totals
