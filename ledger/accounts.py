"""Live accounts in Redis: balances and holds, moved only by Lua scripts.

Each account is one hash (``keys.account``) of integers:
``cash:available``, ``cash:on_hold``, ``<SYM>:available``, ``<SYM>:on_hold``
and one ``hold:<order id>:<asset>`` per order still holding funds; ``<SYM>:buying`` is
what open buy orders may still buy, one ``buys:<order id>`` per buy (the position limit
counts it). Placing a hold is one script that checks and moves atomically, so two racing
orders can never overdraw an account, nor pass the position limit together.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import orjson
import redis

from exchange import keys
from exchange.config import OrderRate
from exchange.money import CASH
from exchange.order_ids import order_time_ms
from exchange.scripts import Scripts

CLIENT_ORDER_ID_TTL_S = 7 * 24 * 3600  # how long a client order id keeps its answer


class NoAccount(Exception):
    pass


class HoldOutcome(Enum):
    INSUFFICIENT = 0
    PLACED = 1
    ANSWERED_BEFORE = 2  # the client order id already has an answer: ``Hold.prior``
    REFUSED = 3  # the refusal given was recorded as the client order id's answer
    RATE_LIMITED = 4  # over the owner's order rate: nothing held, nothing recorded
    OVER_POSITION = 5  # a buy that would pass MAX_POSITION: ``Hold.position`` shares held and being bought


@dataclass(frozen=True)
class Hold:
    outcome: HoldOutcome
    prior: dict | None = None  # {"order_id": ...} or {"error": {"status", "code", "message"}}
    retry_after_ms: int = 0  # RATE_LIMITED: when the owner's window ends
    position: int = 0  # OVER_POSITION: the symbol's shares held and being bought by open orders


@dataclass(frozen=True)
class HoldRequest:
    """One order's hold: ``amount`` of ``asset``; with a client order id, the answers to record."""
    asset: str
    amount: int
    order_id: str
    client_order_id: str | None = None
    refusal: dict | None = None  # a refusal decided before the hold, recorded as the id's answer
    insufficient: dict | None = None  # the refusal recorded if funds are insufficient
    buys: tuple[str, int] | None = None  # a buy's (symbol, quantity): counted against the position limit
    over_position: dict | None = None  # the refusal recorded if the buy would pass the position limit
    entered_ms: int = 0  # when the order was entered (its score in its owner's list); 0: read off its id


def _hold(reply: list) -> Hold:
    outcome = HoldOutcome(reply[0])
    if outcome is HoldOutcome.RATE_LIMITED:
        return Hold(outcome, retry_after_ms=max(1, reply[1]))
    if outcome is HoldOutcome.OVER_POSITION:
        return Hold(outcome, position=reply[1])
    return Hold(outcome, orjson.loads(reply[1]) if outcome is HoldOutcome.ANSWERED_BEFORE else None)


class Accounts:
    def __init__(self, client: redis.Redis, scripts: Scripts | None = None):
        self.client = client
        self.scripts = scripts or Scripts(client)

    def open(self, user_id: str, cash_cents: int, shares: dict[str, int]) -> None:
        """Create the live account with its starting balances (once)."""
        mapping = {f"{CASH}:available": cash_cents, f"{CASH}:on_hold": 0}
        for symbol, quantity in shares.items():
            mapping[f"{symbol}:available"] = quantity
            mapping[f"{symbol}:on_hold"] = 0
        self.client.hset(keys.account(user_id), mapping=mapping)

    def open_if_absent(self, user_id: str, cash_cents: int, shares: dict[str, int]) -> bool:
        """Create the live account unless it exists, atomically (a WATCHed transaction on its one
        key): a reopen racing another, or racing the account's first trades, never overwrites it."""
        key = keys.account(user_id)
        mapping = {f"{CASH}:available": cash_cents, f"{CASH}:on_hold": 0}
        for symbol, quantity in shares.items():
            mapping.update({f"{symbol}:available": quantity, f"{symbol}:on_hold": 0})

        def create(pipe) -> bool:
            if pipe.exists(key):
                return False
            pipe.multi()
            pipe.hset(key, mapping=mapping)
            return True
        return self.client.transaction(create, key, value_from_callable=True)

    def exists(self, user_id: str) -> bool:
        return bool(self.client.exists(keys.account(user_id)))

    def place_hold(self, user_id: str, asset: str, amount: int, order_id: str) -> bool:
        """Reserve ``amount`` of ``asset`` for ``order_id``; False if not enough is available."""
        return self.hold_order(user_id, asset, amount, order_id).outcome is HoldOutcome.PLACED

    def hold_order(self, user_id: str, asset: str, amount: int, order_id: str, *,
                   rate: OrderRate | None = None, client_order_id: str | None = None,
                   refusal: dict | None = None, insufficient: dict | None = None) -> Hold:
        """Reserve ``amount`` of ``asset`` for ``order_id`` (see ``hold_orders``)."""
        request = HoldRequest(asset, amount, order_id, client_order_id, refusal, insufficient)
        return self.hold_orders(user_id, [request], rate=rate)[0]

    def hold_orders(self, user_id: str, requests: list[HoldRequest], *, rate: OrderRate | None = None,
                    max_position: int | None = None) -> list[Hold]:
        """Reserve each order's funds, in the order given, in one script that also counts each
        order against its owner's ``rate`` and records its client order id: the id's first answer
        (the order, ``insufficient`` or ``refusal``, a refusal decided before the hold) is recorded
        atomically and every later use of the id gets it. A buy (``buys``) is refused if the shares
        its owner holds, those their open buys may still buy and its own would pass ``max_position``.
        A held order joins its owner's list of orders in the same script. One outcome per request, in order."""
        script_keys = [keys.account(user_id), keys.order_rate(user_id), keys.user_orders(user_id)]
        args: list = [rate.per_window if rate else 0, rate.window_ms if rate else 0, CLIENT_ORDER_ID_TTL_S,
                      max_position or 0]
        for request in requests:
            coid_index = 0
            if request.client_order_id is not None:  # its answers are recorded: encode them only then
                script_keys.append(keys.client_order_id(user_id, request.client_order_id))
                coid_index = len(script_keys)
            args += [request.asset, request.amount, request.order_id, coid_index,
                     orjson.dumps(request.refusal) if coid_index and request.refusal else "",
                     orjson.dumps(request.insufficient or {}) if coid_index else "",
                     *(request.buys or ("", 0)),
                     orjson.dumps(request.over_position or {}) if coid_index else "",
                     request.entered_ms or order_time_ms(request.order_id) or 0]
        result = self.scripts.place_hold(keys=script_keys, args=args)
        if result == -1:
            raise NoAccount(user_id)
        return [_hold(reply) for reply in result]

    def balances(self, user_id: str) -> dict[str, dict[str, int]]:
        """{asset: {"available": n, "on_hold": n}} from the live hash."""
        raw = self.client.hgetall(keys.account(user_id))
        if not raw:
            raise NoAccount(user_id)
        balances: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            asset, _, kind = field.decode().partition(":")
            if kind in ("available", "on_hold"):
                balances.setdefault(asset, {"available": 0, "on_hold": 0})[kind] = int(value)
        return balances
