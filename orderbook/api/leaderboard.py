"""The public leaderboard: every account marked to market (``ledger.leaderboard``), served cached.

Publicly a row is rank, username, value and P&L (and whether it is the house
account). The caller's own row, when the request carries a valid token, also
shows its cash and shares, and comes again as ``me`` even outside ``limit``.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from exchange.money import format_cents
from orderbook.api.spec import operation
from orderbook.queries import LeaderboardQuery, parse_query
from orderbook.responses import Leaderboard
from orderbook.services import services, token_check

bp = Blueprint("leaderboard", __name__)


def _public_row(rank: int, row: dict) -> dict:
    return {"rank": rank, "username": row["username"], "house": row["house"],
            "value": format_cents(row["value"]), "pnl": format_cents(row["value"] - row["starting_value"])}


def _own_row(rank: int, row: dict) -> dict:
    return {**_public_row(rank, row), "cash": format_cents(row["cash"]), "shares": row["shares"]}


@bp.get("/leaderboard")
@operation("market data", {200: Leaderboard}, (400,), query=LeaderboardQuery)
def leaderboard():
    """Every account marked to market at last prices, by value: rank, username, value, P&L.

    With a token my own row also shows my cash and shares (and comes as `me`). Recomputed at most every
    few seconds."""
    limit = parse_query(LeaderboardQuery).limit
    user_id, _invalid = token_check()  # a missing or bad token just gets the public view
    board = services().leaderboard.snapshot()
    rows = [_public_row(rank, row) for rank, row in enumerate(board.rows[:limit], start=1)]
    mine = board.row_of(user_id) if user_id is not None else None
    if mine is not None:
        rank, row = mine
        if rank <= limit:
            rows[rank - 1] = _own_row(rank, row)
    return jsonify({
        "as_of": board.as_of_ms,
        "prices": {symbol: None if p is None else format_cents(p) for symbol, p in board.prices.items()},
        "accounts": len(board.rows),
        "total_value": format_cents(board.total_value),
        "total_starting_value": format_cents(board.total_starting_value),
        "leaderboard": rows,
        "me": None if mine is None else _own_row(*mine),
    })
