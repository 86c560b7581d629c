"""What each journal event does to accounts, as per-account steps. Pure: no I/O.

A step is (sequence, ops) for one account; ``apply_account.lua`` applies each
step at most once per account, keyed by the symbol's gap-free sequence.

Trade of q shares at price p (the resting order's price):
  buyer:  consume q × hold_price from its order's cash hold; get back
          (hold_price − p) × q of price improvement; receive q shares
  seller: consume q shares from its order's share hold; receive p × q cash
Done (filled, canceled, rejected, remainder): release what is left of the hold.
Amend (size down): release the cut quantity's share of the hold.
"""
from __future__ import annotations

from collections import defaultdict

CASH = "cash"

Op = tuple  # ("add", field, delta) | ("consume", order_id, asset, n) | ("release", order_id, asset)


def hold_asset(symbol: str, side: str) -> str:
    return CASH if side == "buy" else symbol


def steps_for(event: dict) -> list[tuple[str, list[Op]]]:
    """[(user_id, ops)] for one journal event."""
    kind = event["type"]
    symbol = event["symbol"]
    if kind == "trade":
        q, p, hold_price = event["quantity"], event["price"], event["buyer_hold_price"]
        buyer_ops = [("consume", event["buy_order_id"], CASH, hold_price * q),
                     ("add", f"{symbol}:available", q)]
        if hold_price > p:
            buyer_ops.append(("add", f"{CASH}:available", (hold_price - p) * q))
        seller_ops = [("consume", event["sell_order_id"], symbol, q),
                      ("add", f"{CASH}:available", p * q)]
        return [(event["buyer_id"], buyer_ops), (event["seller_id"], seller_ops)]
    if kind == "done":
        return [(event["user_id"], [("release", event["order_id"], hold_asset(symbol, event["side"]))])]
    if kind == "amended" and event["released"] > 0:
        asset = hold_asset(symbol, event["side"])
        amount = event["released"] * (event["hold_price"] if event["side"] == "buy" else 1)
        return [(event["user_id"], [("consume", event["order_id"], asset, amount),
                                    ("add", f"{asset}:available", amount)])]
    return []


def group_by_account(events: list[dict]) -> dict[str, list[tuple[int, list[Op]]]]:
    """Events in sequence order -> {user_id: [(sequence, ops), ...]} in the same order."""
    by_account: dict[str, list[tuple[int, list[Op]]]] = defaultdict(list)
    for event in events:
        for user_id, ops in steps_for(event):
            by_account[user_id].append((event["sequence"], ops))
    return by_account


def encode_steps(steps: list[tuple[int, list[Op]]]) -> list:
    """ARGV tail for apply_account.lua."""
    args: list = []
    for sequence, ops in steps:
        args += [sequence, len(ops)]
        for op in ops:
            args += list(op)
    return args
