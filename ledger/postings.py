"""What each journal event does to accounts, as postings: per-account changes. Pure: no I/O.

Every amount comes from the event itself (the matcher computes them with the
fee rates and hold fixed at entry), so applying an event needs no other state:

  trade of q at p   buyer:  on_hold −= used; available += used − p×q − buyer_fee; +q shares
                    seller: −q shares on hold; available += p×q − seller_fee
                    house:  available += buyer_fee + seller_fee
  done              the order's remaining hold (``released``) goes back to available
  amended           the cut quantity's hold (``released``) goes back to available
  voided            whatever the order's hold record holds goes back to available (the
                    ledger of record never placed it: the order never reached the journal),
                    and the order leaves its owner's list of orders

Live accounts also count what open buy orders may still buy (``<SYM>:buying``, one
``buys:<order id>`` record per buy, for MAX_POSITION): a trade takes the buyer's down by
its quantity, an amend sets it to the remaining quantity, a done or voided buy drops it.
The ledger of record keeps no such count.

``used`` is what the buyer's hold shrinks by (what the remaining quantity no
longer needs); the difference from what the fill cost is price improvement.
A posting is (sequence, ops) for one account; ``apply_account.lua`` applies each
posting at most once per account.
"""
from __future__ import annotations

from collections import defaultdict

from exchange.journal import AcceptedEvent, AmendedEvent, DoneEvent, JournalEvent, Side, TradeEvent, VoidedEvent
from exchange.money import CASH

HOUSE = "house"

Op = tuple  # ("add", field, delta) | ("del", field) | ("release", hold field, asset) | ("unlist", order id) | ...


def hold_asset(symbol: str, side: str) -> str:
    """What an order's hold is in: cash for a buy, the symbol's shares for a sell."""
    return CASH if side == Side.BUY else symbol


def hold_field(order_id: str, asset: str) -> str:
    """The live account's record of one order's hold (placed by place_hold.lua)."""
    return f"hold:{order_id}:{asset}"


def buys_field(order_id: str) -> str:
    """The live account's record of what one buy order may still buy (placed by place_hold.lua)."""
    return f"buys:{order_id}"


def _release(asset: str, order_id: str, amount: int) -> list[Op]:
    return [("add", f"{asset}:on_hold", -amount), ("add", f"{asset}:available", amount),
            ("add", hold_field(order_id, asset), -amount)]


# The kinds of event that post to accounts; postings_for has nothing for any other.
POSTING_KINDS = frozenset({TradeEvent, DoneEvent, VoidedEvent, AmendedEvent})


def postings_for(event: JournalEvent) -> list[tuple[str, list[Op]]]:
    """[(user_id, ops)] for one journal event (an accepted order's hold: see placement_postings)."""
    symbol = event.symbol
    if isinstance(event, TradeEvent):
        q, p = event.quantity, event.price
        used, buyer_fee, seller_fee = event.buyer_hold_used, event.buyer_fee, event.seller_fee
        buyer: list[Op] = [
            ("add", f"{CASH}:on_hold", -used), ("add", f"{CASH}:available", used - p * q - buyer_fee),
            ("add", f"{symbol}:available", q), ("add", hold_field(event.buy_order_id, CASH), -used),
            ("unbuy", buys_field(event.buy_order_id), symbol, q)]
        seller: list[Op] = [("add", f"{symbol}:on_hold", -q), ("add", f"{CASH}:available", p * q - seller_fee),
                            ("add", hold_field(event.sell_order_id, symbol), -q)]
        postings = [(event.buyer_id, buyer), (event.seller_id, seller)]
        if buyer_fee + seller_fee:
            postings.append((HOUSE, [("add", f"{CASH}:available", buyer_fee + seller_fee)]))
        return postings
    if isinstance(event, DoneEvent):
        asset = hold_asset(symbol, event.side)
        ops = _release(asset, event.order_id, event.released)[:2] if event.released else []
        return [(event.user_id, [*ops, ("del", hold_field(event.order_id, asset)), *_unbuy_all(event, asset)])]
    if isinstance(event, VoidedEvent):  # the order never reached the book: its whole hold goes back
        return [(event.user_id, [("release", hold_field(event.order_id, event.asset), event.asset),
                                 *_unbuy_all(event, event.asset), ("unlist", event.order_id)])]
    if isinstance(event, AmendedEvent):
        asset = hold_asset(symbol, event.side)
        ops = _release(asset, event.order_id, event.released) if event.released > 0 else []
        if asset == CASH:
            ops.append(("buys_to", buys_field(event.order_id), symbol, event.remaining))
        return [(event.user_id, ops)] if ops else []
    return []


def _unbuy_all(event: DoneEvent | VoidedEvent, asset: str) -> list[Op]:
    """A buy that ended buys nothing more: what its record still counts leaves ``<symbol>:buying``."""
    return [("unbuy_all", buys_field(event.order_id), event.symbol)] if asset == CASH else []


def group_by_account(events: list[JournalEvent]) -> dict[str, list[tuple[int, list[Op]]]]:
    """Events in sequence order -> {user_id: [(sequence, ops), ...]} in the same order."""
    by_account: dict[str, list[tuple[int, list[Op]]]] = defaultdict(list)
    for event in events:
        for user_id, ops in postings_for(event):
            by_account[user_id].append((event.sequence, ops))
    return by_account


def encode_postings(postings: list[tuple[int, list[Op]]]) -> list:
    """ARGV tail for apply_account.lua."""
    args: list = []
    for sequence, ops in postings:
        args += [sequence, len(ops)]
        for op in ops:
            args += list(op)
    return args


def placement_postings(event: AcceptedEvent) -> list[tuple[str, list[Op]]]:
    """An accepted order's hold. The live account placed it at entry; the ledger of record
    places it when the order reaches the journal."""
    hold = event.order["hold"]
    asset = hold_asset(event.symbol, event.side)
    return [(event.user_id, [("add", f"{asset}:available", -hold), ("add", f"{asset}:on_hold", hold)])]


def record_field(field: str) -> str | None:
    """A live-account field as a path in the MongoDB account document (None: not kept there)."""
    asset, _, kind = field.partition(":")
    if kind not in ("available", "on_hold"):
        return None  # per-order hold records live only in the live account
    return f"cash.{kind}" if asset == CASH else f"positions.{asset}.{kind}"


def net_deltas(events: list[JournalEvent]) -> dict[str, dict[str, int]]:
    """The whole batch as one $inc per account document: {user_id: {path: delta}}."""
    deltas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in events:
        postings = placement_postings(event) if isinstance(event, AcceptedEvent) else postings_for(event)
        for user_id, ops in postings:
            for op in ops:
                path = record_field(op[1]) if op[0] == "add" else None
                if path is not None:
                    deltas[user_id][path] += op[2]
    return {user: {path: d for path, d in paths.items() if d} for user, paths in deltas.items()}


def trade_documents(events: list[JournalEvent]) -> list[dict]:
    """The ledger of record's document of each trade event in the batch: both sides, and
    ``user_ids`` (buyer, seller), which a user's fills are read through (``exchange.trade_fills``)."""
    return [{"_id": e.trade_id, "symbol": e.symbol, "epoch": e.epoch, "sequence": e.sequence,
             "price": e.price, "quantity": e.quantity, "time": e.time, "taker_side": e.taker_side.value,
             "buy_order_id": e.buy_order_id, "sell_order_id": e.sell_order_id,
             "buyer_id": e.buyer_id, "seller_id": e.seller_id, "user_ids": [e.buyer_id, e.seller_id],
             "buyer_fee": e.buyer_fee, "seller_fee": e.seller_fee}
            for e in events if isinstance(e, TradeEvent)]
