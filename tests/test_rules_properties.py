"""Property tests: compiled rules (integer cents, Fractions) against a naive reference that reads
the JSON itself with Decimal dollars."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.rules import MarketView, Quote, RuleError, actions, evaluate, parse_rule

SYMBOLS = ("KRYP", "ADAM", "PUPS")
OPS = ("gt", "gte", "lt", "lte", "eq")
CANCEL = {"$cancelAll": {}}

cents = st.integers(min_value=0, max_value=5_000)  # small, so comparisons often tie


def dollars_text(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


@st.composite
def money_literal(draw):
    """One amount of cents written the ways a rule may write it."""
    amount = draw(cents)
    form = draw(st.sampled_from(["float", "string", "decimal", "int"]))
    if form == "float":
        return float(dollars_text(amount))   # what a JSON parser hands over for 12.34
    if form == "string":
        return dollars_text(amount)
    if form == "decimal":
        return Decimal(dollars_text(amount))
    return amount // 100


market_operand = st.builds(lambda field, symbol: {f"${field}": symbol},
                           st.sampled_from(["ticker", "bid", "ask", "mid"]), st.sampled_from(SYMBOLS))
money_operand = st.one_of(market_operand, st.just({"$cash": "USD"}), money_literal())
share_operand = st.one_of(st.builds(lambda s: {"$position": s}, st.sampled_from(SYMBOLS)),
                          st.integers(min_value=0, max_value=300))


@st.composite
def comparison(draw):
    operands = money_operand if draw(st.booleans()) else share_operand
    return {"$comparison": {"itemA": draw(operands), "itemB": draw(operands), "type": draw(st.sampled_from(OPS))}}


conditions = st.recursive(comparison(), lambda children: st.one_of(
    st.builds(lambda parts: {"$and": parts}, st.lists(children, min_size=1, max_size=4)),
    st.builds(lambda parts: {"$or": parts}, st.lists(children, min_size=1, max_size=4))), max_leaves=10)

optional_cents = st.one_of(st.none(), cents)
quotes = st.fixed_dictionaries({s: st.builds(Quote, last=optional_cents, bid=optional_cents, ask=optional_cents)
                                for s in SYMBOLS})
views = st.builds(MarketView, quotes=quotes,
                  positions=st.one_of(st.none(), st.fixed_dictionaries(
                      {s: st.integers(min_value=0, max_value=300) for s in SYMBOLS})),
                  cash=st.one_of(st.none(), cents))


# ---- the naive reference: JSON in, Decimal dollars --------------------------------------------

def ref_value(operand, view: MarketView, unit: str):
    if not isinstance(operand, dict):
        text = repr(operand) if isinstance(operand, float) else str(operand)
        return Decimal(text)  # dollars or shares: the comparison decides
    (kind, arg), = operand.items()
    if kind == "$cash":
        return None if view.cash is None else Decimal(view.cash) / 100
    if kind == "$position":
        return None if view.positions is None else Decimal(view.positions.get(arg, 0))
    quote = view.quotes[arg]
    if kind == "$mid":
        return None if quote.bid is None or quote.ask is None else (Decimal(quote.bid) + Decimal(quote.ask)) / 200
    raw = {"$ticker": quote.last, "$bid": quote.bid, "$ask": quote.ask}[kind]
    return None if raw is None else Decimal(raw) / 100


def ref_unit(comparison_doc) -> str:
    sides = (comparison_doc["itemA"], comparison_doc["itemB"])
    return "shares" if any(isinstance(s, dict) and "$position" in s for s in sides) else "money"


def ref_holds(condition, view: MarketView) -> bool:
    (kind, body), = condition.items()
    if kind == "$and":
        return all(ref_holds(c, view) for c in body)
    if kind == "$or":
        return any(ref_holds(c, view) for c in body)
    unit = ref_unit(body)
    a, b = ref_value(body["itemA"], view, unit), ref_value(body["itemB"], view, unit)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b, "eq": a == b}[body["type"]]


def ref_first_market_symbol(condition):
    (kind, body), = condition.items()
    if kind == "$comparison":
        for side in (body["itemA"], body["itemB"]):
            if isinstance(side, dict) and set(side) & {"$ticker", "$bid", "$ask", "$mid"}:
                return next(iter(side.values()))
        return None
    for part in body:
        found = ref_first_market_symbol(part)
        if found:
            return found
    return None


# ---- properties ----------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(conditions, views)
def test_evaluation_matches_the_reference(condition, view):
    rule = parse_rule({"$when": condition, "$do": CANCEL}, SYMBOLS)
    expected = ref_holds(condition, view)
    assert evaluate(rule, view) == expected
    assert actions(rule, view) == (list(rule.do) if expected else [])


@settings(max_examples=200, deadline=None)
@given(money_operand, money_operand, views)
def test_swapped_operands_mirror_the_comparison(a, b, view):
    def holds(x, op, y):
        return evaluate(parse_rule({"$when": {"$comparison": {"itemA": x, "itemB": y, "type": op}},
                                    "$do": CANCEL}, SYMBOLS), view)
    assert holds(a, "gt", b) == holds(b, "lt", a)
    assert holds(a, "gte", b) == holds(b, "lte", a)
    assert holds(a, "eq", b) == holds(b, "eq", a)
    assert holds(a, "gte", b) == (holds(a, "gt", b) or holds(a, "eq", b))


@settings(max_examples=300, deadline=None)
@given(cents.filter(lambda c: c > 0), st.integers(min_value=1, max_value=9))
def test_prices_are_whole_cents_read_exactly(amount, third_decimal):
    order = {"kind": "LIMIT", "intent": "BUY", "shares": 1, "symbol": "KRYP"}
    for written in (float(dollars_text(amount)), dollars_text(amount), Decimal(dollars_text(amount))):
        assert parse_rule({"$do": {"$order": {**order, "bid": written}}}, SYMBOLS).do[0].price == amount
    finer = dollars_text(amount) + str(third_decimal)
    for written in (float(finer), finer, Decimal(finer)):
        try:
            parse_rule({"$do": {"$order": {**order, "bid": written}}}, SYMBOLS)
        except RuleError as error:
            assert error.path == "$.$do.$order.bid" and "more than 2 decimals" in error.message
        else:
            raise AssertionError(f"{written!r} was accepted")


@settings(max_examples=200, deadline=None)
@given(conditions)
def test_an_order_without_symbol_takes_the_first_market_operand(condition):
    order = {"$order": {"kind": "MARKET", "intent": "SELL", "shares": 1}}
    expected = ref_first_market_symbol(condition)
    try:
        rule = parse_rule({"$when": condition, "$do": order}, SYMBOLS)
    except RuleError as error:
        assert expected is None and error.path == "$.$do.$order"
    else:
        assert rule.do[0].symbol == expected
