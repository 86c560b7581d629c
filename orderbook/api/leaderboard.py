"""The public leaderboard: every account marked to market (``ledger.leaderboard``)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from exchange.money import format_cents
from ledger.leaderboard import Standing, read_standings
from orderbook.queries import LeaderboardQuery, parse_query
from orderbook.services import services

bp = Blueprint("leaderboard", __name__)


def _row(rank: int, row: Standing) -> dict:
    return {"rank": rank, "user_id": row.user_id, "username": row.username, "house": row.house,
            "value": format_cents(row.value), "starting_value": format_cents(row.starting_value),
            "pnl": format_cents(row.pnl), "cash": format_cents(row.holdings.cash),
            "shares": dict(sorted(row.holdings.shares.items()))}


@bp.get("/leaderboard")
def leaderboard():
    limit = parse_query(LeaderboardQuery).limit
    svc = services()
    prices, rows = read_standings(svc.redis, svc.auth.db, svc.settings.symbols)
    return jsonify({
        "prices": {symbol: None if p is None else format_cents(p) for symbol, p in prices.items()},
        "accounts": len(rows),
        "total_value": format_cents(sum(r.value for r in rows)),
        "total_starting_value": format_cents(sum(r.starting_value for r in rows)),
        "leaderboard": [_row(rank, row) for rank, row in enumerate(rows[:limit], start=1)],
    })
