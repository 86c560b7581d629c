"""Rule JSON -> a compiled ``Rule``, or a ``RuleError`` naming the JSON path of the bad node.

Three passes, each with the path of what it refuses:
  1. shape: nesting depth and finite numbers (before the schema, so a deep
     document cannot exhaust the validator's recursion);
  2. the JSON Schema (``schema.json``, Draft 2020-12), with the messages its
     ``errorMessage`` keywords give;
  3. what a schema cannot say: known symbols, money in whole cents, comparable
     units, an order's price fields, the symbol an order defaults to, the chain's length.

Money literals are dollars; a JSON number is read through its shortest decimal
text (``repr``), a ``Decimal`` or a decimal string as written, and must be whole
cents, whatever its digit count (read from its digits, not through rounded Decimal
arithmetic). No float arithmetic touches money.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Collection, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from bots.rules.model import (
    AllOf,
    AnyOf,
    CancelAll,
    Cash,
    Comparison,
    Condition,
    Literal,
    MarketPrice,
    Operand,
    PlaceOrder,
    Position,
    Rule,
)
from exchange.money import MAX_CENTS

SCHEMA_PATH = Path(__file__).with_name("schema.json")
MAX_DEPTH = 64       # nesting of JSON objects and lists
MAX_STEPS = 20       # steps in one chain ($then after $then)
MAX_SHARES = 1_000_000_000

Segments = list  # a JSON path: str keys and int indexes


class RuleError(ValueError):
    """A rule that cannot run; ``str()`` is ``"$.a.b[0]: what is wrong"``."""

    code = "invalid_rule"

    def __init__(self, path: Iterable, message: str):
        self.path = json_path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


def json_path(segments: Iterable) -> str:
    """["$then", "$do", 0] -> "$.$then.$do[0]"."""
    out = "$"
    for segment in segments:
        out += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return out


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def parse_rule(document: object, symbols: Collection[str]) -> Rule:
    """Validate and compile a rule; ``symbols`` are the listed ones."""
    check_shape(document)
    check_schema(document)
    return _Compiler(frozenset(symbols)).step(document, [], inherited_symbol=None, number=1)


# ---- 1. shape ----------------------------------------------------------------------------

def check_shape(document: object) -> None:
    stack = [(document, [], 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise RuleError(path, f"nests deeper than {MAX_DEPTH} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((value, [*path, key], depth + 1) for key, value in items)
        elif not _finite(node):
            raise RuleError(path, "must be a finite number")


def _finite(node: object) -> bool:
    if isinstance(node, Decimal):
        return node.is_finite()  # not math.isfinite: 1E+400 is finite, however large a float would find it
    return not isinstance(node, float) or math.isfinite(node)


# ---- 2. schema ---------------------------------------------------------------------------

def check_schema(document: object) -> None:
    error = best_match(_validator().iter_errors(document))
    if error is None:
        return
    path = list(error.absolute_path)
    here = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        raise RuleError([*path, missing], "is required")
    if error.validator == "additionalProperties":
        allowed = list(here.get("properties", {}))
        extra = next(name for name in error.instance if name not in allowed)
        raise RuleError([*path, extra], f"unknown key; expected one of {', '.join(allowed)}")
    custom = here.get("errorMessage")
    if isinstance(custom, dict):
        custom = custom.get(error.validator)
    raise RuleError(path, custom or error.message)


# ---- 3. meaning --------------------------------------------------------------------------

def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the number's shortest decimal text, exactly
    return Decimal(value)            # int, or a decimal string the schema checked


def cents(value: object, path: Segments) -> int:
    """A dollar literal as integer cents, exactly; refuses sub-cent precision at any digit count."""
    return _whole(value, 2, MAX_CENTS, path, "has more than 2 decimals (money is whole cents)")


def shares(value: object, path: Segments) -> int:
    return _whole(value, 0, MAX_SHARES, path, "is not a whole number of shares")


def _whole(value: object, places: int, largest: int, path: Segments, not_whole: str) -> int:
    """``value × 10**places`` as an exact int in [-largest, largest], else a RuleError.

    Read from the literal's digits and exponent (``as_tuple``), never through Decimal
    arithmetic: that rounds to its context's 28 digits, so ``1.000…0001`` (31 digits)
    would pass as whole cents, and a stored literal past Decimal128's 34 digits would fail.
    """
    number = _decimal(value)
    if not number.is_finite():
        raise RuleError(path, "must be a finite number")
    sign, digits, exponent = number.as_tuple()
    if not any(digits):
        return 0  # 0, 0.00, 0E-9999: zero at any exponent
    exponent += places
    if len(digits) + exponent > len(str(largest)):  # before 10**exponent can be huge
        raise RuleError(path, f"{value} is too large")
    if exponent < 0:
        digits, dropped = digits[:exponent], digits[exponent:]
        if any(dropped):
            raise RuleError(path, f"{value} {not_whole}")
        exponent = 0
    whole = int("".join(map(str, digits)) or "0") * 10 ** exponent
    if whole > largest:
        raise RuleError(path, f"{value} is too large")
    return -whole if sign else whole


class _Compiler:
    def __init__(self, symbols: frozenset[str]):
        self.symbols = symbols

    def symbol(self, name: str, path: Segments) -> str:
        if name.upper() not in self.symbols:
            raise RuleError(path, f"unknown symbol {name!r}; listed: {', '.join(sorted(self.symbols))}")
        return name.upper()

    # ---- steps ----

    def step(self, doc: dict, path: Segments, inherited_symbol: str | None, number: int) -> Rule:
        if number > MAX_STEPS:
            raise RuleError(path, f"a rule chain may have at most {MAX_STEPS} steps")
        when = self.condition(doc["$when"], [*path, "$when"]) if "$when" in doc else None
        default_symbol = first_market_symbol(when) or inherited_symbol
        raw_actions = doc["$do"]
        if isinstance(raw_actions, list):
            actions = tuple(self.action(a, [*path, "$do", i], default_symbol) for i, a in enumerate(raw_actions))
        else:
            actions = (self.action(raw_actions, [*path, "$do"], default_symbol),)
        then = self.step(doc["$then"], [*path, "$then"], default_symbol, number + 1) if "$then" in doc else None
        return Rule(when=when, do=actions, then=then)

    # ---- conditions ----

    def condition(self, doc: dict, path: Segments) -> Condition:
        (kind, body), = doc.items()
        if kind == "$comparison":
            return self.comparison(body, [*path, kind])
        parts = tuple(self.condition(c, [*path, kind, i]) for i, c in enumerate(body))
        return AllOf(parts) if kind == "$and" else AnyOf(parts)

    def comparison(self, doc: dict, path: Segments) -> Comparison:
        sides = {name: self.operand(doc[name], [*path, name]) for name in ("itemA", "itemB")}
        units = {unit for _operand, unit in sides.values() if unit is not None}
        if len(units) > 1:
            raise RuleError(path, "cannot compare shares ($position) with money (prices, $cash or dollars)")
        unit = units.pop() if units else "money"
        resolved = {}
        for name, (operand, _unit) in sides.items():
            if isinstance(operand, _Raw):
                convert = shares if unit == "shares" else cents
                operand = Literal(convert(operand.value, [*path, name]))
            resolved[name] = operand
        return Comparison(resolved["itemA"], doc["type"], resolved["itemB"])

    def operand(self, doc: object, path: Segments) -> tuple[Operand, str | None]:
        if not isinstance(doc, dict):
            return _Raw(doc), None  # a literal: its unit is the other side's
        (kind, body), = doc.items()
        if kind == "$cash":
            return Cash(), "money"
        symbol = self.symbol(body, [*path, kind])
        if kind == "$position":
            return Position(symbol), "shares"
        return MarketPrice(kind[1:], symbol), "money"

    # ---- actions ----

    def action(self, doc: dict, path: Segments, default_symbol: str | None) -> PlaceOrder | CancelAll:
        (kind, body), = doc.items()
        path = [*path, kind]
        if kind == "$cancelAll":
            symbol = body.get("symbol")
            return CancelAll(self.symbol(symbol, [*path, "symbol"]) if symbol is not None else None)
        return self.order(body, path, default_symbol)

    def order(self, doc: dict, path: Segments, default_symbol: str | None) -> PlaceOrder:
        order_type, side = doc["kind"].lower(), doc["intent"].lower()
        given = [name for name in ("bid", "ask", "price") if name in doc]
        price = None
        if order_type in ("market", "stop"):
            if given:
                raise RuleError([*path, given[0]], f"a {order_type.upper()} order takes no price")
        else:
            if not given:
                raise RuleError(path, f"a {order_type.upper()} order needs a price: bid (BUY), ask (SELL) or price")
            if len(given) > 1:
                raise RuleError([*path, given[1]], "give one price: bid, ask or price")
            if given[0] == "bid" and side == "sell":
                raise RuleError([*path, "bid"], "a SELL order's price is its ask (or price), not a bid")
            if given[0] == "ask" and side == "buy":
                raise RuleError([*path, "ask"], "a BUY order's price is its bid (or price), not an ask")
            price = cents(doc[given[0]], [*path, given[0]])
            if price <= 0:
                raise RuleError([*path, given[0]], "must be greater than zero")
        if "symbol" in doc:
            symbol = self.symbol(doc["symbol"], [*path, "symbol"])
        elif default_symbol is not None:
            symbol = default_symbol
        else:
            raise RuleError(path, "names no symbol, and its rule has no $ticker, $bid, $ask or $mid operand "
                                  "to take one from; add \"symbol\"")
        return PlaceOrder(symbol=symbol, side=side, type=order_type, price=price, quantity=int(doc["shares"]),
                          time_in_force=doc.get("time_in_force", "GTC"), stop_price=self.stop(doc, order_type, path))

    @staticmethod
    def stop(doc: dict, order_type: str, path: Segments) -> int | None:
        """A STOP or STOP_LIMIT order's stop price in cents (a buy stop triggers on a trade at or above it)."""
        if order_type not in ("stop", "stop_limit"):
            if "stop" in doc:
                raise RuleError([*path, "stop"], "only a STOP or STOP_LIMIT order takes a stop price")
            return None
        if "stop" not in doc:
            raise RuleError(path, f"a {order_type.upper()} order needs a stop price: stop")
        stop = cents(doc["stop"], [*path, "stop"])
        if stop <= 0:
            raise RuleError([*path, "stop"], "must be greater than zero")
        return stop


class _Raw:
    """A literal whose unit (cents or shares) its comparison decides."""

    def __init__(self, value: object):
        self.value = value


def first_market_symbol(condition: Condition | None) -> str | None:
    """The symbol of the first $ticker/$bid/$ask/$mid operand, depth first, itemA before itemB."""
    if condition is None:
        return None
    if isinstance(condition, Comparison):
        for operand in (condition.left, condition.right):
            if isinstance(operand, MarketPrice):
                return operand.symbol
        return None
    for part in condition.conditions:
        found = first_market_symbol(part)
        if found is not None:
            return found
    return None
