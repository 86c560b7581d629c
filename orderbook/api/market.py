import os
import time

from flask import Blueprint, jsonify

from orderbook.queries import BookQuery, CandleQuery, TradesQuery, parse_query
from orderbook.services import services
from ticker.candles import rollup
from ticker.quotes import candle_view, quote

bp = Blueprint("market", __name__)


@bp.get("/healthz")
def healthz():
    services().redis.ping()
    return jsonify({"status": "ok", "service": "orderbook", "pid": os.getpid()})


@bp.get("/symbols")
def symbols():
    return jsonify({"symbols": services().market.list_symbols()})


@bp.get("/book/<symbol>")
def book(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify(services().market.book(symbol, parse_query(BookQuery).depth))


@bp.get("/ticker/<symbol>")
def ticker(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify(quote(services().redis, services().candles, symbol, int(time.time())))


@bp.get("/candles/<symbol>")
def candles(symbol: str):
    symbol = services().entry.symbol(symbol)
    query = parse_query(CandleQuery)
    start, end = query.span(now_s=int(time.time()))
    minutes = services().candles.minutes(symbol, start - start % 60, end)
    rolled = [c for c in rollup(minutes, query.seconds) if start <= c.start < end]
    return jsonify({"symbol": symbol, "interval": query.interval,
                    "candles": [candle_view(c) for c in rolled[-query.limit:]]})


@bp.get("/trades/<symbol>")
def trades(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify({"symbol": symbol, "trades": services().market.trades(symbol, parse_query(TradesQuery).limit)})
