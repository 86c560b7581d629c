import os
import time

from flask import Blueprint, jsonify

from exchange.faults import journal_faults
from orderbook.queries import BookQuery, CandleQuery, TradesQuery, listed_symbol, parse_query
from orderbook.services import services
from ticker.candles import rollup
from ticker.quotes import candle_view, quote

bp = Blueprint("market", __name__)


@bp.get("/healthz")
def healthz():
    """503 ``degraded`` while the ledger of record is stopped for a symbol (Redis lost data)."""
    faults = journal_faults(services().redis, services().settings.symbols)
    body = {"status": "degraded" if faults else "ok", "service": "orderbook", "pid": os.getpid()}
    if faults:
        return jsonify({**body, "journal_faults": faults}), 503
    return jsonify(body)


@bp.get("/symbols")
def symbols():
    return jsonify({"symbols": services().market.list_symbols()})


@bp.get("/book/<symbol>")
def book(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(services().market.book(symbol, parse_query(BookQuery).depth))


@bp.get("/ticker/<symbol>")
def ticker(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(quote(services().redis, services().candles, symbol, int(time.time())))


@bp.get("/candles/<symbol>")
def candles(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    query = parse_query(CandleQuery)
    start, end = query.span(now_s=int(time.time()))
    minutes = services().candles.minutes(symbol, start - start % 60, end)
    rolled = [c for c in rollup(minutes, query.seconds) if start <= c.start < end]
    return jsonify({"symbol": symbol, "interval": query.interval,
                    "candles": [candle_view(c) for c in rolled[-query.limit:]]})


@bp.get("/trades/<symbol>")
def trades(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify({"symbol": symbol, "trades": services().market.trades(symbol, parse_query(TradesQuery).limit)})
