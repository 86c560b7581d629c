"""The rule language: every comparison and operand, $and/$or, symbol defaulting, chains, and errors with paths."""
from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.rules import (
    CancelAll,
    MarketView,
    PlaceOrder,
    Quote,
    RuleError,
    actions,
    evaluate,
    market_symbols,
    parse_rule,
    reads_holdings,
)
from bots.rules.evaluation import value_of
from bots.rules.model import Cash, Literal, MarketPrice, Position
from bots.rules.parsing import MAX_SHARES, cents, shares
from exchange.money import MAX_CENTS

SYMBOLS = ("KRYP", "ADAM", "PUPS")
CANCEL = {"$cancelAll": {}}

SEED = {
    "$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 20.55, "type": "gte"}},
    "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 20.60, "shares": 100}},
    "$then": {
        "$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 21.00, "type": "gte"}},
        "$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 20.90, "shares": 100}},
    },
}


def compare(a, op, b) -> dict:
    return {"$comparison": {"itemA": a, "itemB": b, "type": op}}


def when(condition) -> object:
    return parse_rule({"$when": condition, "$do": CANCEL}, SYMBOLS)


def view(last=None, bid=None, ask=None, symbol="KRYP", **holdings) -> MarketView:
    return MarketView(quotes={symbol: Quote(last=last, bid=bid, ask=ask)}, **holdings)


# ---- the seed's rule ------------------------------------------------------------------------

def test_seed_rule_compiles_to_cents_and_defaults_its_symbol():
    rule = parse_rule(SEED, SYMBOLS)
    first, second = rule.steps()
    assert first.do == (PlaceOrder(symbol="KRYP", side="buy", type="limit", price=2060, quantity=100),)
    assert second.do == (PlaceOrder(symbol="KRYP", side="sell", type="limit", price=2090, quantity=100),)
    assert second.then is None
    assert not evaluate(first, view(last=2054))
    assert evaluate(first, view(last=2055))
    assert actions(first, view(last=2056)) == list(first.do)
    assert actions(first, view(last=2054)) == []
    assert not evaluate(second, view(last=2099)) and evaluate(second, view(last=2100))


# ---- comparisons and operands -----------------------------------------------------------------

@pytest.mark.parametrize("op, below, equal, above", [
    ("gt", False, False, True), ("gte", False, True, True), ("lt", True, False, False),
    ("lte", True, True, False), ("eq", False, True, False)])
def test_every_comparison(op, below, equal, above):
    rule = when(compare({"$ticker": "KRYP"}, op, "10.00"))
    assert [evaluate(rule, view(last=p)) for p in (999, 1000, 1001)] == [below, equal, above]


@pytest.mark.parametrize("operand, market, expected", [
    ({"$ticker": "KRYP"}, view(last=1234, bid=1000, ask=2000), 1234),
    ({"$bid": "KRYP"}, view(last=1234, bid=1000, ask=2000), 1000),
    ({"$ask": "KRYP"}, view(last=1234, bid=1000, ask=2000), 2000),
    ({"$mid": "KRYP"}, view(last=1234, bid=1000, ask=2001), Fraction(3001, 2)),
    ({"$position": "KRYP"}, view(positions={"KRYP": 7}), 7),
    ({"$position": "ADAM"}, view(positions={"KRYP": 7}), 0),
    ({"$cash": "USD"}, view(cash=123456), 123456),
])
def test_every_operand_reads_its_value(operand, market, expected):
    rule = when(compare(operand, "eq", 0))
    assert value_of(rule.when.left, market) == expected


@pytest.mark.parametrize("operand, market", [
    ({"$ticker": "KRYP"}, view(bid=1000, ask=1100)),          # never traded
    ({"$bid": "KRYP"}, view(last=1000, ask=1100)),            # no bids
    ({"$ask": "KRYP"}, view(last=1000, bid=1100)),            # no asks
    ({"$mid": "KRYP"}, view(last=1000, bid=1000)),            # one side only
    ({"$ticker": "ADAM"}, view(last=1000)),                   # symbol not in the view
    ({"$position": "KRYP"}, view(last=1000)),                 # holdings not read
    ({"$cash": "USD"}, view(last=1000)),
])
def test_a_missing_value_never_fires(operand, market):
    for op in ("gt", "gte", "lt", "lte", "eq"):
        assert not evaluate(when(compare(operand, op, 0)), market)
        assert not evaluate(when(compare(0, op, operand)), market)


def test_mid_compares_exactly_on_half_cents():
    market = view(bid=1000, ask=1001)  # mid 10.005
    assert evaluate(when(compare({"$mid": "KRYP"}, "gt", "10.00")), market)
    assert evaluate(when(compare({"$mid": "KRYP"}, "lt", "10.01")), market)
    assert not evaluate(when(compare({"$mid": "KRYP"}, "eq", "10.00")), market)
    assert evaluate(when(compare({"$mid": "KRYP"}, "eq", "10.00")), view(bid=999, ask=1001))


def test_literals_are_read_through_their_decimal_text():
    rule = when(compare({"$ticker": "KRYP"}, "eq", 0.29))  # 0.29 * 100 == 28.999999999999996 in floats
    assert rule.when.right == Literal(29)
    assert when(compare({"$ticker": "KRYP"}, "eq", "0.29")).when.right == Literal(29)
    assert when(compare({"$ticker": "KRYP"}, "eq", Decimal("1234.50"))).when.right == Literal(123450)
    assert when(compare({"$ticker": "KRYP"}, "eq", 20)).when.right == Literal(2000)


@pytest.mark.parametrize("literal, unit, expected", [
    (Decimal("20.55" + "0" * 40), "money", 2055),            # 44 digits, whole cents
    ("20.55" + "0" * 40, "money", 2055),
    (Decimal("100000000000.00"), "money", 10**13),            # the largest amount
    (Decimal("1234567890123E-2"), "money", 1234567890123),
    (Decimal("2.055E+1"), "money", 2055),
    (Decimal("0E-10000"), "money", 0),
    (Decimal("0E+10000"), "money", 0),
    (Decimal("150." + "0" * 40), "shares", 150),
    (Decimal("1.5E+2"), "shares", 150),
])
def test_literals_with_any_number_of_digits_compile_exactly(literal, unit, expected):
    operand = {"$ticker": "KRYP"} if unit == "money" else {"$position": "KRYP"}
    assert when(compare(operand, "eq", literal)).when.right == Literal(expected)


UNITS = {"money": (cents, 2, MAX_CENTS), "shares": (shares, 0, MAX_SHARES)}


@st.composite
def long_literal(draw, places: int, largest: int) -> Decimal:
    """A whole amount near the unit's range, written with many trailing zeros and maybe one stray digit far out."""
    amount = draw(st.integers(min_value=0, max_value=2 * largest))
    zeros = draw(st.integers(min_value=0, max_value=60))
    stray = draw(st.sampled_from(["", "1", "5", "9"]))
    return Decimal(f"{amount}{'0' * zeros}{stray}E-{places + zeros + len(stray)}")


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(sorted(UNITS)))
def test_a_literal_is_accepted_only_when_whole_and_then_exactly(data, unit):
    convert, places, largest = UNITS[unit]
    literal = data.draw(st.one_of(
        long_literal(places, largest),
        st.builds(lambda c, e: Decimal(f"{c}E{e}"), st.integers(0, 10**60), st.integers(-80, 20))))
    exact = Fraction(literal) * 10 ** places  # the naive reference: exact rational arithmetic
    try:
        converted = convert(literal, ["x"])
    except RuleError as error:
        assert exact.denominator != 1 or exact > largest, str(error)
    else:
        assert exact.denominator == 1 and converted == exact <= largest


def test_a_literal_against_a_position_counts_shares():
    rule = when(compare({"$position": "KRYP"}, "gte", 150))
    assert rule.when.right == Literal(150)
    assert evaluate(rule, view(positions={"KRYP": 150})) and not evaluate(rule, view(positions={"KRYP": 149}))
    assert when(compare({"$cash": "USD"}, "gte", 150)).when.right == Literal(15000)


def test_two_operands_and_two_literals():
    both = when(compare({"$bid": "KRYP"}, "lt", {"$ask": "KRYP"}))
    assert evaluate(both, view(bid=1000, ask=1001)) and not evaluate(both, view(bid=1001, ask=1001))
    cash = when(compare({"$cash": "USD"}, "gte", {"$ticker": "KRYP"}))
    assert evaluate(cash, view(last=500, cash=500)) and not evaluate(cash, view(last=501, cash=500))
    constant = when(compare(1, "lt", "1.01"))
    assert evaluate(constant, MarketView())


# ---- $and / $or -------------------------------------------------------------------------------

@pytest.mark.parametrize("last, bid", [(1000, 900), (1000, 1100), (1200, 900), (1200, 1100)])
def test_and_or(last, bid):
    high = compare({"$ticker": "KRYP"}, "gte", 11)
    bid_up = compare({"$bid": "KRYP"}, "gte", 10)
    market = view(last=last, bid=bid)
    is_high, is_bid_up = last >= 1100, bid >= 1000
    assert evaluate(when({"$and": [high, bid_up]}), market) == (is_high and is_bid_up)
    assert evaluate(when({"$or": [high, bid_up]}), market) == (is_high or is_bid_up)
    nested = {"$or": [{"$and": [high, bid_up]}, {"$and": [compare({"$ticker": "KRYP"}, "eq", 10)]}]}
    assert evaluate(when(nested), market) == ((is_high and is_bid_up) or last == 1000)


def test_a_step_without_when_fires_at_once():
    rule = parse_rule({"$do": {"$cancelAll": {"symbol": "adam"}}}, SYMBOLS)
    assert evaluate(rule, MarketView())
    assert actions(rule, MarketView()) == [CancelAll("ADAM")]


# ---- actions and symbol defaulting --------------------------------------------------------------

def test_order_fields():
    rule = parse_rule({"$do": [
        {"$order": {"kind": "market", "intent": "sell", "shares": 5, "symbol": "PUPS", "time_in_force": "IOC"}},
        {"$order": {"kind": "LIMIT", "intent": "BUY", "price": "0.01", "shares": 1, "symbol": "ADAM"}},
        {"$order": {"kind": "LIMIT", "intent": "SELL", "price": 3, "shares": 2, "symbol": "KRYP"}},
        {"$order": {"kind": "STOP", "intent": "SELL", "stop": "9.50", "shares": 3, "symbol": "KRYP"}},
        {"$order": {"kind": "stop_limit", "intent": "buy", "bid": 11, "stop": 10.5, "shares": 4, "symbol": "ADAM"}},
        {"$cancelAll": {}}]}, SYMBOLS)
    assert rule.do == (PlaceOrder("PUPS", "sell", "market", None, 5, "IOC"), PlaceOrder("ADAM", "buy", "limit", 1, 1),
                       PlaceOrder("KRYP", "sell", "limit", 300, 2), PlaceOrder("KRYP", "sell", "stop", None, 3, stop_price=950),
                       PlaceOrder("ADAM", "buy", "stop_limit", 1100, 4, stop_price=1050), CancelAll(None))


def test_symbol_defaults_to_the_first_market_operand_depth_first():
    order = {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1, "shares": 1}}
    condition = {"$and": [compare({"$position": "PUPS"}, "gt", 0), compare(5, "lt", {"$ask": "ADAM"}),
                          compare({"$ticker": "KRYP"}, "gt", 0)]}
    assert parse_rule({"$when": condition, "$do": order}, SYMBOLS).do[0].symbol == "ADAM"
    assert parse_rule({"$when": compare({"$mid": "pups"}, "gt", {"$bid": "KRYP"}), "$do": order},
                      SYMBOLS).do[0].symbol == "PUPS"
    explicit = copy.deepcopy(order)
    explicit["$order"]["symbol"] = "KRYP"
    assert parse_rule({"$when": condition, "$do": explicit}, SYMBOLS).do[0].symbol == "KRYP"


def test_a_then_step_without_market_operands_inherits_the_symbol():
    order = {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 30, "shares": 1}}
    rule = parse_rule({"$when": compare({"$bid": "ADAM"}, "gt", 1), "$do": CANCEL,
                       "$then": {"$when": compare({"$cash": "USD"}, "gt", 1), "$do": order,
                                 "$then": {"$when": compare({"$ticker": "PUPS"}, "gt", 1), "$do": order}}},
                      SYMBOLS)
    assert [step.do[0].symbol for step in rule.steps()[1:]] == ["ADAM", "PUPS"]


def test_chains_and_what_the_runner_reads():
    rule = parse_rule({**SEED, "$then": {**SEED["$then"], "$then": {
        "$when": compare({"$position": "ADAM"}, "lt", 1), "$do": CANCEL}}}, SYMBOLS)
    steps = rule.steps()
    assert len(steps) == 3 and steps[0].then is steps[1] and steps[1].then is steps[2]
    assert market_symbols(steps[0]) == {"KRYP"} and not reads_holdings(steps[0])
    assert market_symbols(steps[2]) == set() and reads_holdings(steps[2])


# ---- errors name the path ----------------------------------------------------------------------

ORDER = {"kind": "LIMIT", "intent": "BUY", "bid": 20.60, "shares": 100, "symbol": "KRYP"}


def with_order(**changes) -> dict:
    fields = {k: v for k, v in {**ORDER, **changes}.items() if v is not None}
    return {"$do": {"$order": fields}}


BAD_RULES = [
    ([], "$: must be a rule object"),
    ({"$when": compare(1, "gt", 0)}, "$.$do: is required"),
    ({"$buy": {}, "$do": CANCEL}, "$.$buy: unknown key; expected one of $when, $do, $then"),
    ({**SEED, "$then": {**SEED["$then"], "$do": {"$order": {**SEED["$then"]["$do"]["$order"], "shares": 0}}}},
     "$.$then.$do.$order.shares: must be a positive integer"),
    (with_order(shares=1.5), "$.$do.$order.shares: must be a positive integer"),
    (with_order(shares="100"), "$.$do.$order.shares: must be a positive integer"),
    (with_order(shares=None), "$.$do.$order.shares: is required"),
    (with_order(kind="STOP_MARKET"), "$.$do.$order.kind: must be LIMIT, MARKET, STOP or STOP_LIMIT"),
    (with_order(kind="STOP", stop=20), "$.$do.$order.bid: a STOP order takes no price"),
    (with_order(kind="STOP", bid=None), "$.$do.$order: a STOP order needs a stop price: stop"),
    (with_order(kind="STOP_LIMIT"), "$.$do.$order: a STOP_LIMIT order needs a stop price: stop"),
    (with_order(kind="STOP_LIMIT", bid=None, stop=20), "$.$do.$order: a STOP_LIMIT order needs a price"),
    (with_order(stop=20), "$.$do.$order.stop: only a STOP or STOP_LIMIT order takes a stop price"),
    (with_order(kind="STOP", bid=None, stop="19.995"), "$.$do.$order.stop: 19.995 has more than 2 decimals"),
    (with_order(kind="STOP", bid=None, stop=0), "$.$do.$order.stop: must be greater than zero"),
    (with_order(intent="HOLD"), "$.$do.$order.intent: must be BUY or SELL"),
    (with_order(bid=20.555), "$.$do.$order.bid: 20.555 has more than 2 decimals"),
    (with_order(bid="20.5x"), "$.$do.$order.bid: must be a decimal string"),
    (with_order(bid=0), "$.$do.$order.bid: must be greater than zero"),
    (with_order(bid=None), "$.$do.$order: a LIMIT order needs a price"),
    (with_order(ask=21), "$.$do.$order.ask: give one price: bid, ask or price"),
    (with_order(bid=None, ask=21), "$.$do.$order.ask: a BUY order's price is its bid"),
    (with_order(kind="MARKET"), "$.$do.$order.bid: a MARKET order takes no price"),
    (with_order(symbol="ZZZ"), "$.$do.$order.symbol: unknown symbol 'ZZZ'"),
    (with_order(symbol=None), "$.$do.$order: names no symbol"),
    (with_order(time_in_force="DAY"), "$.$do.$order.time_in_force: must be GTC, IOC or FOK"),
    ({"$do": [CANCEL, {"$order": {**ORDER, "colour": "red"}}]}, "$.$do[1].$order.colour: unknown key"),
    ({"$do": []}, "$.$do: must list at least one action"),
    ({"$do": {}}, "$.$do: must be an action"),
    ({"$do": {**CANCEL, "$order": ORDER}}, "$.$do: must hold exactly one action"),
    ({"$do": {"$cancelAll": {"symbol": "NOPE"}}}, "$.$do.$cancelAll.symbol: unknown symbol 'NOPE'"),
    ({"$when": {}, "$do": CANCEL}, "$.$when: must be a condition"),
    ({"$when": {"$and": []}, "$do": CANCEL}, "$.$when.$and: must list at least one condition"),
    ({"$when": {"$or": [compare(1, "gt", 0), {"$not": {}}]}, "$do": CANCEL}, "$.$when.$or[1].$not: unknown key"),
    ({"$when": compare(1, "ge", 0), "$do": CANCEL}, "$.$when.$comparison.type: must be one of gt, gte"),
    ({"$when": compare(-1, "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: must not be negative"),
    ({"$when": compare(True, "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: must be a number"),
    ({"$when": compare(1, "gt", {"$last": "KRYP"}), "$do": CANCEL}, "$.$when.$comparison.itemB.$last: unknown key"),
    ({"$when": compare(1, "gt", {"$ticker": "XX"}), "$do": CANCEL},
     "$.$when.$comparison.itemB.$ticker: unknown symbol 'XX'"),
    ({"$when": compare(1, "gt", {"$ticker": "KRYP", "$bid": "KRYP"}), "$do": CANCEL},
     "$.$when.$comparison.itemB: must hold exactly one of"),
    ({"$when": compare(1, "gt", {"$cash": "EUR"}), "$do": CANCEL}, "$.$when.$comparison.itemB.$cash: must be \"USD\""),
    ({"$when": compare({"$position": "KRYP"}, "gt", {"$bid": "KRYP"}), "$do": CANCEL},
     "$.$when.$comparison: cannot compare shares ($position) with money"),
    ({"$when": compare({"$position": "KRYP"}, "gt", 2.5), "$do": CANCEL},
     "$.$when.$comparison.itemB: 2.5 is not a whole number of shares"),
    ({"$when": compare(Decimal("1.001"), "gt", 0), "$do": CANCEL},
     "$.$when.$comparison.itemA: 1.001 has more than 2 decimals"),
    ({"$when": compare(float("nan"), "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: must be a finite number"),
    ({"$when": compare(10**12, "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: 1000000000000 is too large"),
    ({"$when": {"$comparison": {"itemA": 1, "type": "gt"}}, "$do": CANCEL}, "$.$when.$comparison.itemB: is required"),
    # More digits than Python's default 28-digit context (which would round them away) or Decimal128's 34.
    ({"$when": compare(Decimal("1.000000000000000000000000000001"), "gt", 0), "$do": CANCEL},
     "$.$when.$comparison.itemA: 1.000000000000000000000000000001 has more than 2 decimals"),
    ({"$when": compare(0, "lt", "1.0000000000000000000000000000000001"), "$do": CANCEL},
     "$.$when.$comparison.itemB: 1.0000000000000000000000000000000001 has more than 2 decimals"),
    (with_order(bid=Decimal("20.60000000000000000000000000000000000001")),
     "$.$do.$order.bid: 20.60000000000000000000000000000000000001 has more than 2 decimals"),
    ({"$when": compare({"$position": "KRYP"}, "gt", Decimal("150.0000000000000000000000000000000001")),
      "$do": CANCEL}, "$.$when.$comparison.itemB: 150.0000000000000000000000000000000001 is not a whole number"),
    ({"$when": compare(Decimal("1E-400"), "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: 1E-400 has more"),
    ({"$when": compare(Decimal("1E+400"), "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: 1E+400 is too large"),
    ({"$when": compare(Decimal("1E+999999999"), "gt", 0), "$do": CANCEL}, "$.$when.$comparison.itemA: 1E+999999999 is"),
    ({"$when": compare(Decimal("100000000000.01"), "gt", 0), "$do": CANCEL},
     "$.$when.$comparison.itemA: 100000000000.01 is too large"),
    ({"$when": compare({"$position": "KRYP"}, "gt", Decimal("1E+400")), "$do": CANCEL},
     "$.$when.$comparison.itemB: 1E+400 is too large"),
]


@pytest.mark.parametrize("document, message", BAD_RULES, ids=[m for _d, m in BAD_RULES])
def test_a_bad_rule_names_the_path_of_its_bad_node(document, message):
    with pytest.raises(RuleError) as caught:
        parse_rule(document, SYMBOLS)
    assert str(caught.value).startswith(message), str(caught.value)
    assert caught.value.code == "invalid_rule"


def test_a_chain_is_at_most_twenty_steps():
    rule = {"$do": CANCEL}
    for _ in range(19):
        rule = {"$do": CANCEL, "$then": rule}
    assert len(parse_rule(rule, SYMBOLS).steps()) == 20
    with pytest.raises(RuleError) as caught:
        parse_rule({"$do": CANCEL, "$then": rule}, SYMBOLS)
    assert str(caught.value) == "$" + ".$then" * 20 + ": a rule chain may have at most 20 steps"


def test_deep_nesting_is_refused_before_the_schema_recurses():
    condition = compare(1, "gt", 0)
    for _ in range(30):  # 62 levels of objects and lists: allowed, and the validator copes
        condition = {"$and": [condition]}
    assert evaluate(parse_rule({"$when": condition, "$do": CANCEL}, SYMBOLS), MarketView())
    for _ in range(10_000):
        condition = {"$and": [condition]}
    with pytest.raises(RuleError, match="nests deeper than 64 levels"):
        parse_rule({"$when": condition, "$do": CANCEL}, SYMBOLS)


def test_operands_compile_to_their_kinds():
    rule = when({"$and": [compare({"$cash": "USD"}, "gt", 0), compare({"$position": "kryp"}, "gt", 0),
                          compare({"$mid": "ADAM"}, "gt", 0)]})
    assert [c.left for c in rule.when.conditions] == [Cash(), Position("KRYP"), MarketPrice("mid", "ADAM")]
