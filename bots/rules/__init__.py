"""Rule bots' language: JSON rules (``schema.json``), validation with paths, pure evaluation.

    rule = parse_rule({"$when": ..., "$do": ..., "$then": ...}, symbols=("KRYP",))
    evaluate(rule, MarketView(quotes={"KRYP": Quote(last=2055)}))   # -> bool
    actions(rule, view)                                             # -> [PlaceOrder | CancelAll]
"""
from bots.rules.evaluation import actions, evaluate, market_symbols, reads_holdings
from bots.rules.model import (
    AllOf,
    AnyOf,
    CancelAll,
    Cash,
    Comparison,
    Literal,
    MarketPrice,
    MarketView,
    PlaceOrder,
    Position,
    Quote,
    Rule,
)
from bots.rules.parsing import RuleError, parse_rule, schema

__all__ = ["actions", "evaluate", "market_symbols", "reads_holdings", "AllOf", "AnyOf", "CancelAll", "Cash",
           "Comparison", "Literal", "MarketPrice", "MarketView", "PlaceOrder", "Position", "Quote", "Rule",
           "RuleError", "parse_rule", "schema"]
