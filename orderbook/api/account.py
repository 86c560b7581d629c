from flask import Blueprint, g, jsonify, request

from exchange.money import format_cents
from ledger.accounts import CASH
from orderbook.errors import ApiError
from orderbook import views
from orderbook.services import int_arg, login_required, services

bp = Blueprint("account", __name__)


def _own(user_id: str) -> None:
    if user_id != g.user_id:
        raise ApiError(403, "forbidden", "you can only read your own account")


def _balances() -> dict:
    raw = services().accounts.balances(g.user_id)
    for symbol in services().settings.symbols:  # listed after this account was opened: none held yet
        raw.setdefault(symbol, {"available": 0, "on_hold": 0})
    out = {}
    for asset, amounts in sorted(raw.items()):
        if asset == CASH:
            out["USD"] = {k: format_cents(v) for k, v in amounts.items()}
        else:
            out[asset] = amounts
    return out


@bp.get("/account")
@login_required
def account():
    return jsonify({"user_id": g.user_id, "balances": _balances()})


@bp.get("/fills")
@login_required
def fills():
    symbol = request.args.get("symbol")
    if symbol is not None:
        symbol = services().entry.symbol(symbol, status=400)
    limit = int_arg("limit", 100, 1, 1000)
    return jsonify({"fills": [views.history_fill(f) for f in services().ledger.fills(g.user_id, symbol, limit)]})


@bp.get("/balance/<user_id>")
@login_required
def balance(user_id: str):
    _own(user_id)
    return jsonify({"user_id": user_id, **_balances()["USD"]})


@bp.get("/holdings/<symbol>/<user_id>")
@login_required
def holdings(symbol: str, user_id: str):
    symbol = services().entry.symbol(symbol)
    _own(user_id)
    return jsonify({"user_id": user_id, "symbol": symbol, **_balances()[symbol]})
