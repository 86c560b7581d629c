"""A batch of one user's orders (POST /orders/batch), each placed as if sent alone.

The orders are validated one by one, held in the order given by one hold script
call, and appended to their symbols' inboxes in the order given, all in one round
trip; each order is its own inbox entry, since an entry's id is the order's place
in time priority. Then each reply is awaited in turn: the first wait usually
matches the whole batch (a matcher drains an inbox in one run), and the rest find
their replies there, all within one ORDER_WAIT_MS. Each order's answer is what
POST /orders would answer: the order, ``pending``, or its error. One bad order
never fails the others.

"As if sent alone" has two limits, both from preparing and holding every order
before any of them matches. A market order's collar, and its ``no_liquidity``
refusal, come from the book as the batch arrived, not as the batch's earlier
orders left it. And a buy that would have freed cash by filling below its limit
does not free it for a later order of the same batch.
"""
from __future__ import annotations

import time

from orderbook.entry import OrderEntry, Placing, count_order
from orderbook.errors import ApiError, error_body
from orderbook.schemas import PlaceOrder


def place_batch(entry: OrderEntry, user_id: str, requests: list[PlaceOrder | ApiError]) -> tuple[list[dict], dict]:
    """One answer per request, in order: the order as POST /orders shows it, or {"error": ...};
    and the response's headers: Retry-After when an order was over the order rate."""
    answers: list[tuple[int, dict] | ApiError | None] = [None] * len(requests)  # (status, order) or refusal
    placings = _prepare(entry, user_id, requests, answers)
    holds = entry.hold_all(user_id, list(placings.values())) if placings else []
    queued: dict[int, Placing] = {}
    earlier: dict[int, str] = {}  # the client order ids that answered with an earlier order
    commands = []
    for (index, placing), hold in zip(placings.items(), holds):
        if isinstance(hold, ApiError):
            answers[index] = hold
        elif isinstance(hold, str):
            earlier[index] = hold
        else:
            queued[index] = placing
            commands.append((placing.symbol, entry.command(placing, hold)))
    reply_tos = entry.submitter.append_all(commands) if commands else []
    # One wait for the whole batch: past it, what has no reply yet is answered pending.
    deadline = time.monotonic() + entry.settings.order_wait_ms / 1000
    awaited: set[str] = set()
    for (index, placing), reply_to in zip(queued.items(), reply_tos):
        # Once one order of a symbol is answered, the matching that answered it (ours, most often)
        # went past the batch's later commands: look for their replies before taking the lock again.
        lock_held = placing.symbol in awaited or entry.submitter.holder_seen.get(placing.symbol, False)
        answers[index] = _answer(lambda: entry.outcome(placing, entry.submitter.await_reply(
            placing.symbol, reply_to, lock_held, deadline)))
        awaited.add(placing.symbol)
    for index, order_id in earlier.items():  # after the batch's own orders, which they may name
        answers[index] = _answer(lambda: entry.existing(user_id, order_id, deadline))
    return _finish(requests, answers)


def _finish(requests: list[PlaceOrder | ApiError], answers: list) -> tuple[list[dict], dict]:
    """The answers' bodies, and Retry-After (the longest wait) if an order was over the order rate;
    each order counted in the metrics as POST /orders counts it."""
    for request, answer in zip(requests, answers):
        if isinstance(request, PlaceOrder):
            failed = isinstance(answer, ApiError)
            count_order(request, status=answer.status if failed else answer[0],
                        result=answer.code if failed else answer[1]["status"])
    waits = [int(a.headers["Retry-After"]) for a in answers if isinstance(a, ApiError) and "Retry-After" in a.headers]
    headers = {"Retry-After": str(max(waits))} if waits else {}
    return [error_body(answer.code, answer.message) if isinstance(answer, ApiError) else answer[1]
            for answer in answers], headers


def _prepare(entry: OrderEntry, user_id: str, requests: list[PlaceOrder | ApiError],
             answers: list) -> dict[int, Placing]:
    """The valid orders by their place in the batch; the errors of the others go in ``answers``."""
    now_ms = int(time.time() * 1000)
    placings = {}
    for index, request in enumerate(requests):
        if isinstance(request, ApiError):  # malformed: refused by its validation
            answers[index] = request
            continue
        try:
            placings[index] = entry.prepare(user_id, request, now_ms)
        except ApiError as error:
            answers[index] = error
    return placings


def _answer(place) -> tuple[int, dict] | ApiError:
    try:
        return place()
    except ApiError as error:
        return error
