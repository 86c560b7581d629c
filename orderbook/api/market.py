import time

from flask import Blueprint, jsonify

from orderbook import health
from orderbook.api.spec import operation
from orderbook.errors import ApiError
from orderbook.history import TRADE_KEY, trades_page, window_of
from orderbook.queries import BookQuery, CandleQuery, HealthQuery, StatsQuery, TradesQuery, listed_symbol, parse_query
from orderbook.responses import Book, BookHash, Candles, Health, Stats, Symbols, Ticker, Trades, Unavailable
from orderbook.services import services
from ticker.candles import rollup
from ticker.quotes import candle_view, quote, stats_view
from ticker.stats import InsufficientData

bp = Blueprint("market", __name__)


@bp.get("/healthz")
@operation("operations", {200: Health, 503: Unavailable}, (400,), query=HealthQuery, rate_limited=False)
def healthz():
    """This replica and its stores; with deep=1 every kind of worker too.

    Deep: each kind's heartbeat age and journal lag per symbol (orderbook/health.py); 503 degraded when one
    is stale or missing, or a symbol's journal is faulted."""
    found = services()
    settings = found.settings
    if parse_query(HealthQuery).is_deep:
        status, body = health.deep(found.redis, found.ledger, settings.mongo_url, settings.symbols,
                                   settings.health_stale_s)
    else:
        status, body = health.shallow(found.redis, settings.mongo_url, settings.symbols)
    return jsonify(body), status


@bp.get("/symbols")
@operation("market data", {200: Symbols})
def symbols():
    """Listed symbols, with their fee rates and trading status."""
    return jsonify({"symbols": services().market.list_symbols()})


@bp.get("/book/<symbol>")
@operation("market data", {200: Book}, (400, 404), query=BookQuery)
def book(symbol: str):
    """Aggregated L2 book with its sequence."""
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(services().market.book(symbol, parse_query(BookQuery).depth))


@bp.get("/book/<symbol>/hash")
@operation("market data", {200: BookHash}, (404,))
def book_hash(symbol: str):
    """{symbol, sequence, hash}: the SHA-256 of every resting order (orderbook/book_hash.py), read atomically.

    `python -m orderbook replay SYMBOL --to-sequence N` gives the same from the archived journal. At most
    2 a second per address."""
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(services().market.state_hash(symbol))


@bp.get("/ticker/<symbol>")
@operation("market data", {200: Ticker}, (404,))
def ticker(symbol: str):
    """Best bid/ask, spread, mid, last, the last 24 hours' volume and change, sequence, trading status."""
    symbol = listed_symbol(symbol, services().settings.symbols)
    return jsonify(quote(services().redis, services().candles, symbol, int(time.time())))


@bp.get("/candles/<symbol>")
@operation("market data", {200: Candles}, (400, 404), query=CandleQuery)
def candles(symbol: str):
    """OHLCV candles, oldest first."""
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
@operation("market data", {200: Stats}, (400, 422), query=StatsQuery)
def stats():
    """Per symbol: returns, mean return, annualized volatility, last price; per pair: correlation of log
    returns, hedge ratio and the Engle-Granger cointegration test.

    Conventions in the answer (ticker/stats.py); 422 insufficient_data names what is missing."""
    found = services()
    query = parse_query(StatsQuery)
    symbols = query.listed(found.settings.symbols)
    try:
        return jsonify(stats_view(found.candles, symbols, query.interval, query.window, int(time.time()),
                                  series=query.series == "1"))
    except InsufficientData as missing:
        raise ApiError(422, "insufficient_data", str(missing)) from None


@bp.get("/trades/<symbol>")
@operation("market data", {200: Trades}, (400, 404), query=TradesQuery)
def trades(symbol: str):
    """Every trade, newest first, a page at a time with next_cursor (null on the last page).

    503 history_catching_up while the ledger of record has yet to settle trades the page reaches."""
    found = services()
    symbol = listed_symbol(symbol, found.settings.symbols)
    window = window_of(parse_query(TradesQuery), TRADE_KEY)
    trades, next_cursor = trades_page(found.redis, found.history, symbol, window)
    return jsonify({"symbol": symbol, "trades": trades, "next_cursor": next_cursor})
