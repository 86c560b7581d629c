from flask import Blueprint, Response, g, jsonify

from exchange import export
from exchange.money import CASH, CASH_LABEL, format_cents
from ledger.accounts import NoAccount
from orderbook.api.spec import Auth, operation
from orderbook.errors import ApiError
from orderbook.history import FILL_KEY, fills_page, window_of
from orderbook.queries import FillsExportQuery, FillsQuery, check_range, listed_symbol, parse_query
from orderbook.responses import Account, CashAccount, FillsPage, Holding
from orderbook.services import login_required, services

bp = Blueprint("account", __name__)


def _own(user_id: str) -> None:
    if user_id != g.user_id:
        raise ApiError(403, "forbidden", "you can only read your own account")


def _balances() -> dict:
    try:
        raw = services().accounts.balances(g.user_id)
    except NoAccount:  # the live account is missing (Redis lost it): seed it from the ledger of record
        if not services().auth.reopen_live_account(g.user_id):
            raise ApiError(403, "no_account", "this user has no trading account") from None
        raw = services().accounts.balances(g.user_id)
    for symbol in services().settings.symbols:  # listed after this account was opened: none held yet
        raw.setdefault(symbol, {"available": 0, "on_hold": 0})
    out: dict[str, dict] = {}
    for asset, amounts in sorted(raw.items()):
        if asset == CASH:
            out[CASH_LABEL] = {k: format_cents(v) for k, v in amounts.items()}
        else:
            out[asset] = amounts
    return out


@bp.get("/account")
@operation("accounts", {200: Account}, auth=Auth.SIGNED)
@login_required
def account():
    """My balances: available and on hold, cash in dollars and each symbol in shares."""
    return jsonify({"user_id": g.user_id, "balances": _balances()})


@bp.get("/fills.csv")
@operation("orders", {200: (None, "CSV: integer cents and shares, times in epoch ms")}, (400,),
           query=FillsExportQuery, auth=Auth.SIGNED)
@login_required
def fills_csv():
    """My fills as CSV, oldest first, streamed.

    The columns of `python -m exchange.export fills` (exchange.export)."""
    query = parse_query(FillsExportQuery)
    symbol = None if query.symbol is None else listed_symbol(query.symbol, services().settings.symbols, status=400)
    check_range(query.start, query.end)
    _none, fills = export.documents(services().history.db, "fills", symbol, query.start, query.end, g.user_id,
                                    counted=False)
    return Response(export.csv_chunks(export.KINDS["fills"], map(export.fill_row, fills)), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=fills.csv"})


@bp.get("/fills")
@operation("orders", {200: FillsPage}, (400,), query=FillsQuery, auth=Auth.SIGNED)
@login_required
def fills():
    """My fills, newest first, from the ledger of record: a page with next_cursor (null on the last page)."""
    query = parse_query(FillsQuery)
    symbol = None if query.symbol is None else listed_symbol(query.symbol, services().settings.symbols, status=400)
    fills, next_cursor = fills_page(services().history, g.user_id, symbol, window_of(query, FILL_KEY))
    return jsonify({"fills": fills, "next_cursor": next_cursor})


@bp.get("/balance/<user_id>")
@operation("accounts", {200: CashAccount}, auth=Auth.SIGNED)
@login_required
def balance(user_id: str):
    """My cash (own account only)."""
    _own(user_id)
    return jsonify({"user_id": user_id, **_balances()[CASH_LABEL]})


@bp.get("/holdings/<symbol>/<user_id>")
@operation("accounts", {200: Holding}, (404,), auth=Auth.SIGNED)
@login_required
def holdings(symbol: str, user_id: str):
    """My shares of a symbol (own account only)."""
    symbol = listed_symbol(symbol, services().settings.symbols)
    _own(user_id)
    return jsonify({"user_id": user_id, "symbol": symbol, **_balances()[symbol]})
