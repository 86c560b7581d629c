import os
import time

from flask import Blueprint, jsonify, request

from orderbook.schemas import CandleQuery
from orderbook.services import int_arg, services
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
    return jsonify(services().market.book(symbol, int_arg("depth", 50, 1, 1000)))


@bp.get("/ticker/<symbol>")
def ticker(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify(quote(services().redis, services().candles, symbol, int(time.time())))


@bp.get("/candles/<symbol>")
def candles(symbol: str):
    symbol = services().entry.symbol(symbol)
    query = CandleQuery.parse(request.args, now_s=int(time.time()))
    minutes = services().candles.minutes(symbol, query.start - query.start % 60, query.end)
    rolled = [c for c in rollup(minutes, query.interval_s) if query.start <= c.start < query.end]
    return jsonify({"symbol": symbol, "interval": query.interval,
                    "candles": [candle_view(c) for c in rolled[-query.limit:]]})


@bp.get("/trades/<symbol>")
def trades(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify({"symbol": symbol, "trades": services().market.trades(symbol, int_arg("limit", 100, 1, 1000))})
