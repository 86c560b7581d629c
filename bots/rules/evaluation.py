"""Pure evaluation of a compiled rule against a ``MarketView``.

A value that is not known (no trade yet for ``$ticker``, an empty side for
``$bid``/``$ask``/``$mid``, holdings not read) makes its comparison false, so a
rule never fires on missing data. ``$mid`` may fall on half a cent; it is the
exact ``Fraction`` (bid + ask) / 2, never a float.
"""
from __future__ import annotations

import operator
from fractions import Fraction

from bots.rules.model import (
    Action,
    AllOf,
    AnyOf,
    Cash,
    Comparison,
    Condition,
    Literal,
    MarketPrice,
    MarketView,
    Operand,
    Position,
    Rule,
)

_OPERATORS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le, "eq": operator.eq}

Value = int | Fraction | None


def value_of(operand: Operand, view: MarketView) -> Value:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, MarketPrice):
        quote = view.quotes.get(operand.symbol)
        if quote is None:
            return None
        if operand.field == "ticker":
            return quote.last
        if operand.field == "bid":
            return quote.bid
        if operand.field == "ask":
            return quote.ask
        if quote.bid is None or quote.ask is None:
            return None
        return Fraction(quote.bid + quote.ask, 2)
    if isinstance(operand, Position):
        return None if view.positions is None else view.positions.get(operand.symbol, 0)
    if isinstance(operand, Cash):
        return view.cash
    raise TypeError(f"not an operand: {operand!r}")


def holds(condition: Condition, view: MarketView) -> bool:
    if isinstance(condition, Comparison):
        left, right = value_of(condition.left, view), value_of(condition.right, view)
        return left is not None and right is not None and _OPERATORS[condition.op](left, right)
    if isinstance(condition, AllOf):
        return all(holds(part, view) for part in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(holds(part, view) for part in condition.conditions)
    raise TypeError(f"not a condition: {condition!r}")


def evaluate(rule: Rule, view: MarketView) -> bool:
    """Whether this step's $when holds (a step without $when always does)."""
    return rule.when is None or holds(rule.when, view)


def actions(rule: Rule, view: MarketView) -> list[Action]:
    """What this step does now: its $do if its $when holds, else nothing."""
    return list(rule.do) if evaluate(rule, view) else []


def _operands(condition: Condition | None):
    if condition is None:
        return
    if isinstance(condition, Comparison):
        yield condition.left
        yield condition.right
    else:
        for part in condition.conditions:
            yield from _operands(part)


def market_symbols(rule: Rule) -> set[str]:
    """Symbols whose quotes the step's $when reads."""
    return {o.symbol for o in _operands(rule.when) if isinstance(o, MarketPrice)}


def reads_holdings(rule: Rule) -> bool:
    """Whether the step's $when reads the owner's $position or $cash."""
    return any(isinstance(o, (Position, Cash)) for o in _operands(rule.when))
