"""What each journal event does to accounts, as per-account steps. Pure: no I/O.

Every amount comes from the event itself (the matcher computes them with the
fee rates and hold fixed at entry), so applying an event needs no other state:

  trade of q at p   buyer:  on_hold −= used; available += used − p×q − buyer_fee; +q shares
                    seller: −q shares on hold; available += p×q − seller_fee
                    house:  available += buyer_fee + seller_fee
  done              the order's remaining hold (``released``) goes back to available
  amended           the cut quantity's hold (``released``) goes back to available

``used`` is what the buyer's hold shrinks by (what the remaining quantity no
longer needs); the difference from what the fill cost is price improvement.
A step is (sequence, ops) for one account; ``apply_account.lua`` applies each
step at most once per account.
"""
from __future__ import annotations

from collections import defaultdict

CASH = "cash"
HOUSE = "house"

Op = tuple  # ("add", field, delta) | ("del", field)


def hold_asset(symbol: str, side: str) -> str:
    return CASH if side == "buy" else symbol


def _release(asset: str, order_id: str, amount: int) -> list[Op]:
    return [("add", f"{asset}:on_hold", -amount), ("add", f"{asset}:available", amount),
            ("add", f"hold:{order_id}", -amount)]


def steps_for(event: dict) -> list[tuple[str, list[Op]]]:
    """[(user_id, ops)] for one journal event."""
    kind = event["type"]
    symbol = event["symbol"]
    if kind == "trade":
        q, p = event["quantity"], event["price"]
        used, buyer_fee, seller_fee = event["buyer_hold_used"], event["buyer_fee"], event["seller_fee"]
        buyer = [("add", f"{CASH}:on_hold", -used), ("add", f"{CASH}:available", used - p * q - buyer_fee),
                 ("add", f"{symbol}:available", q), ("add", f"hold:{event['buy_order_id']}", -used)]
        seller = [("add", f"{symbol}:on_hold", -q), ("add", f"{CASH}:available", p * q - seller_fee),
                  ("add", f"hold:{event['sell_order_id']}", -q)]
        steps = [(event["buyer_id"], buyer), (event["seller_id"], seller)]
        if buyer_fee + seller_fee:
            steps.append((HOUSE, [("add", f"{CASH}:available", buyer_fee + seller_fee)]))
        return steps
    if kind == "done":
        released = event["released"]
        ops = _release(hold_asset(symbol, event["side"]), event["order_id"], released)[:2] if released else []
        return [(event["user_id"], [*ops, ("del", f"hold:{event['order_id']}")])]
    if kind == "amended" and event["released"] > 0:
        return [(event["user_id"], _release(hold_asset(symbol, event["side"]), event["order_id"],
                                            event["released"]))]
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
