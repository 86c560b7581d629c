"""Order entry: validate, hold, enqueue in arrival order, then wait for the match result.

Nothing here waits on MongoDB. An order is accepted once its hold is placed and
its command is on the symbol's inbox stream; from then on some matcher (this
process, another replica, or the standing matcher) applies it exactly once.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from exchange import keys
from exchange.config import Settings
from exchange.metrics import ORDER_RESULTS, ORDER_SECONDS, ORDERS, RATE_LIMITED
from exchange.money import CASH, MoneyError, collar_down, collar_up, format_cents, hold_needed, parse_cents
from exchange.order_ids import new_order_id, order_id_symbol
from exchange.scripts import Scripts
from exchange.top_of_book import read_best
from ledger.accounts import Accounts, Hold, HoldOutcome, HoldRequest, NoAccount
from ledger.history import History
from orderbook import views
from orderbook.commands import encode_amend, encode_cancel, encode_new
from orderbook.errors import ApiError, bad_request, not_found
from orderbook.history import OrderReads
from orderbook.matcher import SymbolMatcher
from orderbook.model import NewOrder, OrderType, SelfTrade, Side, TimeInForce
from orderbook.queries import listed_symbol
from orderbook.schemas import PlaceOrder
from orderbook.submission import Submitter

# Refusals the book gives an order after its hold was placed: (status, message).
BOOK_REFUSALS = {
    "order_voided": (422, "the order reached the book after reconciliation voided it (its submitter "
                          "stalled between the hold and the book); nothing was placed and its hold is released"),
    "order_expired": (422, "the order reached the book more than a day after it was entered; nothing was placed"),
    "price_out_of_band": (422, "the price is more than PRICE_BAND_BPS from the symbol's reference price (the "
                               "last trade, else the mid); nothing was placed"),
    "symbol_halted": (422, "trading in this symbol is halted (see GET /symbols: halted_until); cancels still "
                           "work, and nothing was placed"),
    "stop_would_trigger": (422, "the last trade is already at or through the stop price (a buy stop must be "
                                "above it, a sell stop below); nothing was placed"),
    "too_many_open_orders": (422, "you have MAX_OPEN_ORDERS open orders on this symbol already; cancel some "
                                  "first (IOC, FOK and market orders are still accepted)"),
}


def refused_by_book(code: str) -> ApiError:
    status, message = BOOK_REFUSALS.get(code, (422, f"the book refused the order: {code}"))
    return ApiError(status, code, message)


def count_order(req: PlaceOrder, *, status: int, result: str) -> None:
    """Metrics: one order answered (``status``: the HTTP status it got; 201/202 reached the book)."""
    ORDER_RESULTS.labels(req.type, req.time_in_force, result).inc()
    if status in (201, 202):
        ORDERS.labels(req.type, req.time_in_force).inc()
    elif status == 429:
        RATE_LIMITED.labels("order").inc()


def insufficient_funds(asset: str) -> ApiError:
    what = "cash (price × quantity + fees)" if asset == CASH else f"{asset} shares"
    return ApiError(422, "insufficient_funds", f"not enough available {what} for this order")


def over_position(symbol: str, limit: int) -> ApiError:
    return ApiError(422, "position_limit", f"this buy would take your {symbol} shares, with what your open buy "
                    f"orders may still buy, past {limit} (MAX_POSITION)")


@dataclass(frozen=True)
class Placing:
    """A valid order on its way: the request, its symbol, the order, when it was entered, and a
    refusal decided before its hold (a market order with nothing to trade against)."""
    request: PlaceOrder
    symbol: str
    order: NewOrder
    created_ms: int
    refusal: ApiError | None = None


class OrderEntry:
    def __init__(self, settings: Settings, client: redis.Redis, accounts: Accounts, scripts: Scripts,
                 history: History | None = None):
        self.settings = settings
        self.client = client
        self.accounts = accounts
        self.reads = OrderReads(client, settings.symbols, history)  # MongoDB's history too, if given
        self.after_hold: Callable[[NewOrder], None] | None = None
        self.matchers = {symbol: SymbolMatcher.for_settings(client, symbol, settings, scripts)
                         for symbol in settings.symbols}
        self.submitter = Submitter(client, self.matchers, settings.order_wait_ms)

    # ---- placing --------------------------------------------------------------------

    def place(self, user_id: str, req: PlaceOrder) -> tuple[int, dict]:
        started = time.perf_counter()
        try:
            status, order = self._place(user_id, req)
        except ApiError as error:
            count_order(req, status=error.status, result=error.code)
            raise
        count_order(req, status=status, result=order["status"])
        ORDER_SECONDS.observe(time.perf_counter() - started)
        return status, order

    def _place(self, user_id: str, req: PlaceOrder) -> tuple[int, dict]:
        placing = self.prepare(user_id, req, int(time.time() * 1000))
        answer = self.hold_all(user_id, [placing])[0]
        if isinstance(answer, ApiError):
            raise answer
        if isinstance(answer, str):
            return self.existing(user_id, answer)  # the client order id's earlier order
        if self.after_hold is not None:
            self.after_hold(placing.order)  # failpoint for crash tests: the hold is placed, the order not yet queued
        reply = self.submitter.submit(placing.symbol, self.command(placing, answer)).result
        return self.outcome(placing, reply)

    def prepare(self, user_id: str, req: PlaceOrder, now_ms: int) -> Placing:
        """The order a valid request places, or the ApiError for a bad one."""
        symbol = listed_symbol(req.symbol, self.settings.symbols, status=400)
        side = Side(req.side)
        order_type = OrderType(req.type)
        limit_price = self._limit_price(req, order_type)
        stop_price = self._stop_price(req, order_type)
        self._check_value(limit_price or stop_price, req.quantity)
        protection, refusal = None, None
        if order_type is OrderType.STOP and stop_price is not None:  # its collar comes from its stop price
            bps = self.settings.market_collar_bps
            protection = collar_up(stop_price, bps) if side is Side.BUY else collar_down(stop_price, bps)
        if order_type is OrderType.MARKET:
            try:
                protection = self._protection_price(symbol, side, req.quantity)
            except ApiError as error:  # with a client order id, this answer is recorded for it
                refusal = error
        if refusal is not None and req.client_order_id is None:
            raise refusal
        order = NewOrder(order_id=new_order_id(symbol, now_ms), user_id=user_id, side=side, quantity=req.quantity,
                         type=order_type, price=limit_price, protection_price=protection,
                         time_in_force=TimeInForce(req.time_in_force), post_only=req.post_only,
                         self_trade=SelfTrade(req.self_trade), stop_price=stop_price)
        return Placing(req, symbol, order, now_ms, refusal)

    def command(self, placing: Placing, hold: int) -> bytes:
        return encode_new(placing.order, symbol=placing.symbol, client_order_id=placing.request.client_order_id,
                          created_ms=placing.created_ms, maker_fee_bps=self.settings.maker_fee_bps,
                          taker_fee_bps=self.settings.taker_fee_bps, hold=hold)

    @staticmethod
    def outcome(placing: Placing, reply: dict | None) -> tuple[int, dict]:
        """(status, the order as the API shows it) from the book's reply; raises the book's refusal."""
        if reply is None:
            return 202, {"order_id": placing.order.order_id, "client_order_id": placing.request.client_order_id,
                         "symbol": placing.symbol, "status": "pending",
                         "message": "accepted; matching is still in progress"}
        if "error" in reply:
            raise refused_by_book(reply["error"]["code"])
        if reply["order"]["reason"] in BOOK_REFUSALS:  # accepted only to be rejected whole
            raise refused_by_book(reply["order"]["reason"])
        return 201, views.order(reply["order"], reply["fills"])

    def _check_value(self, price: int | None, quantity: int) -> None:
        """Refuse an order worth less than MIN_ORDER_CENTS or more than MAX_ORDER_NOTIONAL_CENTS
        (price × quantity; a market order's at the best opposite price)."""
        if price is None:
            return
        if price * quantity < self.settings.min_order_cents:
            raise ApiError(422, "order_too_small", f"an order must be worth at least "
                           f"{format_cents(self.settings.min_order_cents)} (price × quantity)")
        largest = self.settings.max_order_notional_cents
        if largest is not None and price * quantity > largest:
            raise ApiError(422, "order_too_large", f"an order may be worth at most {format_cents(largest)} "
                           "(price × quantity, MAX_ORDER_NOTIONAL_CENTS)")

    def _limit_price(self, req: PlaceOrder, order_type: OrderType) -> int | None:
        if not order_type.is_limit:
            if req.price is not None:
                raise bad_request("invalid_price", f"a {order_type} order takes no price")
            if req.post_only:
                raise bad_request("invalid_post_only", f"a {order_type} order cannot be post-only")
            return None
        if req.price is None:
            raise bad_request("missing_field", f"price: a {order_type} order needs a price")
        return self._price(req.price)

    def _stop_price(self, req: PlaceOrder, order_type: OrderType) -> int | None:
        if not order_type.is_stop:
            if req.stop_price is not None:
                raise bad_request("invalid_stop_price", "only stop and stop_limit orders take a stop_price")
            return None
        if req.stop_price is None:
            raise bad_request("missing_field", f"stop_price: a {order_type} order needs a stop price")
        if req.post_only:
            raise bad_request("invalid_post_only", "a stop order cannot be post-only")
        return self._price(req.stop_price, "stop_price")

    @staticmethod
    def _price(text: str, field: str = "price") -> int:
        try:
            return parse_cents(text, field=field)
        except MoneyError as err:
            raise bad_request(err.code, err.message) from None

    def _protection_price(self, symbol: str, side: Side, quantity: int) -> int:
        """The collar a market order may not trade beyond, from the opposite best price."""
        best = read_best(self.client, symbol, side.opposite().value)
        if best is None:
            what = "a market buy has nothing to buy" if side is Side.BUY else "a market sell has nobody to sell to"
            raise ApiError(422, "no_liquidity", f"no {'asks' if side is Side.BUY else 'bids'} on {symbol}: {what}")
        self._check_value(best, quantity)
        if side is Side.BUY:
            return collar_up(best, self.settings.market_collar_bps)
        return collar_down(best, self.settings.market_collar_bps)

    def hold_all(self, user_id: str, placings: list[Placing]) -> list[int | str | ApiError]:
        """Place the orders' holds (cents for a buy, shares for a sell), in order, in one script.
        Per order: the amount held, the order id a client order id answered before with, or the
        refusal. With a client order id, the id's first answer is the only one: a repeat gets that
        order or the same refusal, whatever raced it."""
        requests = [self._hold_request(placing) for placing in placings]
        try:
            holds = self.accounts.hold_orders(user_id, requests, rate=self.settings.order_rate,
                                              max_position=self.settings.max_position)
        except NoAccount:
            raise ApiError(403, "no_account", "this user has no trading account") from None
        return [self._hold_answer(request, hold) for request, hold in zip(requests, holds)]

    def _hold_request(self, placing: Placing) -> HoldRequest:
        order, refusal = placing.order, placing.refusal
        reserve_bps = max(self.settings.maker_fee_bps, self.settings.taker_fee_bps)
        amount = 0 if refusal else hold_needed(order.side.value, order.limit, order.quantity, reserve_bps)
        asset = CASH if order.side is Side.BUY else placing.symbol
        buys = (placing.symbol, order.quantity) if order.side is Side.BUY and not refusal else None
        if placing.request.client_order_id is None:  # only a client order id keeps its answers
            return HoldRequest(asset, amount, order.order_id, buys=buys, entered_ms=placing.created_ms)
        limit = self.settings.max_position
        return HoldRequest(asset, amount, order.order_id, placing.request.client_order_id,
                           refusal.as_record() if refusal else None, insufficient_funds(asset).as_record(), buys,
                           over_position(placing.symbol, limit).as_record() if buys and limit else None,
                           placing.created_ms)

    def _hold_answer(self, request: HoldRequest, hold: Hold) -> int | str | ApiError:
        if hold.outcome is HoldOutcome.PLACED:
            return request.amount
        rate, limit = self.settings.order_rate, self.settings.max_position
        if hold.outcome is HoldOutcome.RATE_LIMITED and rate is not None:
            retry_after = -(-hold.retry_after_ms // 1000)  # whole seconds, rounded up
            return ApiError(429, "rate_limited", f"too many orders: at most {rate.per_window} "
                            f"per {rate.window_ms // 1000} s (ORDER_RATE_LIMIT)", {"Retry-After": str(retry_after)})
        if hold.outcome is HoldOutcome.ANSWERED_BEFORE and hold.prior is not None:
            return ApiError.from_record(hold.prior) if "error" in hold.prior else hold.prior["order_id"]
        if hold.outcome is HoldOutcome.REFUSED and request.refusal is not None:
            return ApiError.from_record(request.refusal)
        if hold.outcome is HoldOutcome.OVER_POSITION and request.buys is not None and limit is not None:
            return over_position(request.buys[0], limit)
        return insufficient_funds(request.asset)

    def existing(self, user_id: str, order_id: str, deadline: float | None = None) -> tuple[int, dict]:
        """The order a repeated client_order_id refers to, waiting briefly (until ``deadline``, by
        default ORDER_WAIT_MS) if it is still matching; its refusal if the book refused it or its
        hold was voided."""
        symbol = order_id_symbol(order_id)
        if symbol is None:
            raise not_found(f"no order {order_id!r}")
        deadline = deadline or time.monotonic() + self.settings.order_wait_ms / 1000
        while True:
            found = self.reads.find(user_id, order_id)
            if found is not None and found.get("reason") in BOOK_REFUSALS:
                raise refused_by_book(found["reason"])
            if found is not None:
                return 200, found
            if self.client.zscore(keys.voided(symbol), order_id) is not None:
                raise refused_by_book("order_voided")
            if time.monotonic() > deadline:
                return 202, {"order_id": order_id, "status": "pending",
                             "message": "the original order is still on its way to the book"}
            self.matchers[symbol].drain()
            time.sleep(0.01)

    # ---- cancel and amend -------------------------------------------------------------

    def cancel(self, user_id: str, order_id: str) -> dict:
        # No read first: the matcher checks that the order is open and the user's, and
        # only a refusal costs a look at the order to tell "not yours" from "already done".
        symbol = self.reads.order_symbol(order_id)
        return self._command_result(user_id, symbol, order_id, encode_cancel(order_id, user_id))

    def amend(self, user_id: str, order_id: str, new_quantity: int) -> dict:
        symbol, state, _fills = self.reads.own(user_id, order_id)
        if not state["filled_quantity"] < new_quantity < state["quantity"]:
            raise bad_request("invalid_quantity", "an amend may only reduce the quantity, and not below what "
                              "has already filled; for any other change cancel and place a new order")
        return self._command_result(user_id, symbol, order_id, encode_amend(order_id, user_id, new_quantity))

    def cancel_all(self, user_id: str, symbol: str | None) -> list[dict]:
        # A query's unknown symbol is bad input (400), as on every route; 404 is for a path's.
        symbols = [listed_symbol(symbol, self.settings.symbols, status=400)] if symbol else list(self.settings.symbols)
        canceled = []
        for sym in symbols:
            open_ids = [m.decode() for m in self.client.smembers(keys.open_orders(sym, user_id))]
            if not open_ids:
                continue
            reply_tos = self.submitter.append_all([(sym, encode_cancel(order_id, user_id)) for order_id in open_ids])
            for reply_to in reply_tos:
                reply = self.submitter.await_reply(sym, reply_to, lock_held=self.submitter.holder_seen[sym])
                if reply and "error" not in reply:
                    canceled.append(views.order(reply["order"]))
        return canceled

    def _command_result(self, user_id: str, symbol: str, order_id: str, command: bytes) -> dict:
        submitted = self.submitter.submit(symbol, command, fills_of=order_id)
        reply, fills = submitted.result, submitted.fills
        if reply is None:
            raise ApiError(503, "busy", "the book did not answer in time; the request stays queued")
        if "error" in reply:
            code = reply["error"]["code"]
            if code == "not_found":
                raise not_found(f"no order {order_id!r}")
            if code == "not_open":
                _symbol, state, _fills = self.reads.own(user_id, order_id)  # 404 unless it is the user's
                raise ApiError(409, "order_not_open", f"order is already {state['status']}")
            raise bad_request(code, f"the order could not be changed: {code}")
        if fills is None:
            _symbol, _state, fills = self.reads.own(user_id, order_id)
        return views.order(reply["order"], fills)
