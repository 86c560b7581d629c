import time

from flask import Blueprint, jsonify

from orderbook import health
from orderbook.errors import ApiError
from orderbook.history import TRADE_KEY, trades_page, window_of
from orderbook.queries import BookQuery, CandleQuery, HealthQuery, StatsQuery, TradesQuery, listed_symbol, parse_query
from orderbook.services import services
from ticker.candles import rollup
from ticker.quotes import candle_view, quote, stats_view
from ticker.stats import InsufficientData

bp = Blueprint("market", __name__)


@bp.get("/healthz")
def healthz():
    """Shallow: this replica and its stores. ``?deep=1``: every kind of worker too (orderbook/health.py)."""
    found = services()
    settings = found.settings
    if parse_query(HealthQuery).is_deep:
        status, body = health.deep(found.redis, found.ledger, settings.mongo_url, settings.symbols,
                                   settings.health_stale_s)
    else:
        status, body = health.shallow(found.redis, settings.mongo_url, settings.symbols)
    return jsonify(body), status


@bp.get("/symbols")
def symbols():
    return jsonify({"symbols": services().market.list_symbols()})


@bp.get("/book/<symbol>")
def book(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(services().market.book(symbol, parse_query(BookQuery).depth))


@bp.get("/book/<symbol>/hash")
def book_hash(symbol: str):
    """The live book's state hash: a replay of the archived journal to the same sequence gives the same."""
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(services().market.state_hash(symbol))


@bp.get("/ticker/<symbol>")
def ticker(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(quote(services().redis, services().candles, symbol, int(time.time())))


@bp.get("/candles/<symbol>")
def candles(symbol: str):
    symbol = listed_symbol(symbol, services().settings.symbols)
    query = parse_query(CandleQuery)
    start, end = query.span(now_s=int(time.time()))
    if query.seconds == 1:  # the ticker keeps the last ten minutes of seconds
        rolled = [c for c in services().candles.recent_seconds(symbol) if start <= c.start < end]
    else:
        minutes = services().candles.minutes(symbol, start - start % 60, end)
        rolled = [c for c in rollup(minutes, query.seconds) if start <= c.start < end]
    return jsonify({"symbol": symbol, "interval": query.interval,
                    "candles": [candle_view(c) for c in rolled[-query.limit:]]})


@bp.get("/stats")
def stats():
    """Return statistics and pair tests from the candles (ticker/stats.py)."""
    found = services()
    query = parse_query(StatsQuery)
    symbols = query.listed(found.settings.symbols)
    try:
        return jsonify(stats_view(found.candles, symbols, query.interval, query.window, int(time.time()),
                                  series=query.series == "1"))
    except InsufficientData as missing:
        raise ApiError(422, "insufficient_data", str(missing)) from None


@bp.get("/trades/<symbol>")
def trades(symbol: str):
    found = services()
    symbol = listed_symbol(symbol, found.settings.symbols)
    window = window_of(parse_query(TradesQuery), TRADE_KEY)
    trades, next_cursor = trades_page(found.redis, found.history, symbol, window)
    return jsonify({"symbol": symbol, "trades": trades, "next_cursor": next_cursor})
