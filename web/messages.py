"""Journal events -> Socket.IO payloads: pure, no I/O.

Integers inside, decimal strings at the edge, in the same shapes as the REST
API: book levels as ``GET /book/{symbol}``, trades as ``GET /trades/{symbol}``
items (plus ``symbol``). Payloads are plain JSON values: an event's enum fields
(sides, statuses, reasons) go out as their values ("buy").
"""
from __future__ import annotations

from collections.abc import Callable

from exchange import journal
from exchange.money import format_cents, format_price
from web.levels import Level, LevelBook


def book_snapshot(symbol: str, book: LevelBook) -> dict:
    return {"symbol": symbol, "sequence": book.sequence,
            "bids": [[format_price(p), q] for p, q in book.bids()],
            "asks": [[format_price(p), q] for p, q in book.asks()]}


def book_update(symbol: str, sequence: int, prev_sequence: int, changes: list[Level]) -> dict:
    return {"symbol": symbol, "sequence": sequence, "prev_sequence": prev_sequence,
            "changes": [[side, format_price(p), q] for side, p, q in changes]}


def trade(event: journal.TradeEvent) -> dict:
    return {"symbol": event.symbol, "trade_id": event.trade_id, "price": format_price(event.price),
            "quantity": event.quantity, "time": event.time, "taker_side": event.taker_side.value,
            "sequence": event.sequence}


def trading_status(event: journal.HaltedEvent | journal.ResumedEvent) -> dict:
    """A halted or resumed event as the ``status`` message (the shape of GET /symbols' status fields)."""
    halted = isinstance(event, journal.HaltedEvent)
    return {"symbol": event.symbol, "sequence": event.sequence, "status": "halted" if halted else "trading",
            "halted_until": event.until_ms if halted else None,
            "halt_reason": event.reason.value if halted else None}


def everyone(_user_id: str) -> bool:
    return True


def order_events(event: journal.JournalEvent, wanted: Callable[[str], bool] = everyone) -> list[tuple[str, dict]]:
    """[(user id, private ``order`` payload)] for one journal event, for the users ``wanted`` says:
    accepted, parked or triggered (a stop), fill (one for each side of a trade), amended, canceled,
    or done (filled or rejected). ``status`` always says how the order ended; ``type`` sets a
    cancel apart."""
    if isinstance(event, journal.TradeEvent):
        return _fills(event, wanted)
    if not isinstance(event, journal.AcceptedEvent | journal.ParkedEvent | journal.TriggeredEvent
                      | journal.AmendedEvent | journal.DoneEvent) or not wanted(event.user_id):
        return []
    base = _common(event)
    if isinstance(event, journal.AcceptedEvent):
        order = event.order
        return [(event.user_id, {**base, "type": "accepted", "order_id": event.order_id,
                                 "client_order_id": order.get("client_order_id"), "side": order["side"],
                                 "order_type": order["type"], "price": format_price(order["price"]),
                                 "quantity": order["quantity"], "time_in_force": order["time_in_force"],
                                 "stop_price": format_price(order.get("stop_price"))})]
    if isinstance(event, (journal.ParkedEvent, journal.TriggeredEvent)):
        parked = isinstance(event, journal.ParkedEvent)
        return [(event.user_id, {**base, "type": event.type.value, "order_id": event.order_id,
                                 "side": event.side.value, "stop_price": format_price(event.stop_price),
                                 "status": (journal.Status.UNTRIGGERED if parked else journal.Status.NEW).value})]
    if isinstance(event, journal.AmendedEvent):
        return [(event.user_id, {**base, "type": "amended", "order_id": event.order_id, "side": event.side.value,
                                 "quantity": event.quantity, "remaining_quantity": event.remaining})]
    if isinstance(event, journal.DoneEvent):
        kind = "canceled" if event.status == journal.Status.CANCELED else "done"
        return [(event.user_id, {**base, "type": kind, "order_id": event.order_id, "side": event.side.value,
                                 "status": event.status.value, "reason": event.reason.value,
                                 "remaining_quantity": event.remaining})]
    return []


def _common(event: journal.JournalEvent) -> dict:
    return {"symbol": event.symbol, "sequence": event.sequence, "time": event.time}


def _fills(event: journal.TradeEvent, wanted: Callable[[str], bool]) -> list[tuple[str, dict]]:
    """A trade's two fills, those ``wanted``: the maker's and the taker's, each with its own side and fee."""
    maker, taker = wanted(event.maker_user_id), wanted(event.taker_user_id)
    if not (maker or taker):
        return []
    taker_buys = event.taker_side == journal.Side.BUY
    maker_fee, taker_fee = ((event.seller_fee, event.buyer_fee) if taker_buys
                            else (event.buyer_fee, event.seller_fee))
    fill = {**_common(event), "type": "fill", "trade_id": event.trade_id, "price": format_price(event.price),
            "quantity": event.quantity}
    fills = []
    if maker:
        fills.append((event.maker_user_id, {**fill, "order_id": event.maker_order_id, "liquidity": "maker",
                                            "side": event.taker_side.opposite().value, "fee": format_cents(maker_fee),
                                            "remaining_quantity": event.maker_remaining}))
    if taker:
        fills.append((event.taker_user_id, {**fill, "order_id": event.taker_order_id, "liquidity": "taker",
                                            "side": event.taker_side.value, "fee": format_cents(taker_fee),
                                            "remaining_quantity": event.taker_remaining}))
    return fills
