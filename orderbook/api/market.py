import os

from flask import Blueprint, jsonify

from orderbook.services import int_arg, services

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
    return jsonify(services().market.ticker(services().entry.symbol(symbol)))


@bp.get("/trades/<symbol>")
def trades(symbol: str):
    symbol = services().entry.symbol(symbol)
    return jsonify({"symbol": symbol, "trades": services().market.trades(symbol, int_arg("limit", 100, 1, 1000))})
