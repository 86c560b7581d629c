"""The one place that reads the environment.

Every other module takes a ``Settings`` (or reads ``settings()``); nothing else
calls ``os.environ``. Money settings are parsed to integers here, once.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from limits import parse_many

from exchange.money import parse_cash


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _bps_or_off(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    """Basis points between 1 and 9999; empty or 0 turns the rule off (None)."""
    if env.get(name) in ("", "0"):
        return None
    value = default if env.get(name) is None else _int(env, name, 0)
    if value is not None and not 0 < value < 10_000:
        raise SystemExit(f"{name} must be between 1 and 9999 basis points, or empty to turn it off")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip()
    value = value.upper() if choices[0].isupper() else value.lower()
    if value not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}")
    return value


def _symbols(env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(s.strip().upper() for s in env.get("SYMBOLS", "KRYP,ADAM,PUPS").split(",") if s.strip())


def _positive_or_off(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    """A positive integer; empty turns the rule off (None)."""
    if env.get(name) == "":
        return None
    return default if env.get(name) is None else _positive(env, name, 1)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class OrderRate:
    """How many orders one user may place per window (ORDER_RATE_LIMIT, Flask-Limiter's syntax)."""

    per_window: int
    window_ms: int

    @classmethod
    def parse(cls, text: str) -> "OrderRate | None":
        """'50/second' -> OrderRate(50, 1000); '' -> None (no limit). One limit only."""
        if not text:
            return None
        try:
            (limit,) = parse_many(text)
        except ValueError:
            raise SystemExit(f"ORDER_RATE_LIMIT must be one limit such as '50/second', got {text!r}") from None
        return cls(limit.amount, limit.get_expiry() * 1000)


ASYNC_MODES = ("eventlet", "threading")

# Keys that once shipped as defaults: anyone could sign a token for any user with them.
PUBLIC_SECRET_KEYS = frozenset({"dev-secret-change-me"})
MIN_SECRET_KEY_BYTES = 32


def signing_key(secret_key: str) -> str:
    """SECRET_KEY if it is fit to sign bearer tokens; else the process must not start.

    Every process that signs or checks tokens (API and web replicas, the bot runner)
    asks for it at start, so a missing, short or well-known key stops it there."""
    if not secret_key:
        raise SystemExit("SECRET_KEY is not set: it signs bearer tokens. Set it to a long random string "
                         "(openssl rand -base64 48); `make up` keeps one per data dir.")
    if secret_key in PUBLIC_SECRET_KEYS:
        raise SystemExit("SECRET_KEY is a published default: anyone could sign a token for any user. "
                         "Set it to a long random string (openssl rand -base64 48).")
    if len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        raise SystemExit(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes: too easy to guess. "
                         "Set it to a long random string (openssl rand -base64 48).")
    return secret_key


def _async_mode(raw: str) -> str:
    if raw not in ASYNC_MODES:
        raise SystemExit(f"SOCKETIO_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_CLUSTER=1: REDIS_URL is a seed node of a Redis Cluster (exchange/redis_client.py).
    redis_cluster: bool = False
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "exchange"
    symbols: tuple[str, ...] = ("KRYP", "ADAM", "PUPS")
    starting_cash_cents: int = 1_000_000
    starting_shares: int = 100
    # Market orders are protected by a collar: a market buy may pay at most
    # best ask + collar, a market sell receive at least best bid - collar.
    market_collar_bps: int = 1000
    # Bounds on what one user can make the book hold: open orders per symbol (GTC limit orders
    # beyond it are refused), and the smallest order value (price × quantity, cents).
    max_open_orders: int = 200
    min_order_cents: int = 100
    max_order_notional_cents: int | None = 100_000_000  # $1,000,000 an order (None: no cap)
    # Shares of one symbol a user may hold, counting what their open buy orders may still buy
    # (the long side; None: no limit). Checked in the hold script, atomically with the hold.
    max_position: int | None = None
    # A limit order priced more than this many bps from the symbol's reference price (last
    # trade, else mid) is refused by the matcher; a market order's collar stops at that edge.
    price_band_bps: int | None = 1000
    # Circuit breaker: a last price that moves more than HALT_MOVE_BPS within HALT_WINDOW_S
    # halts the symbol's new orders for HALT_S (cancels go on); the book stays as it is.
    halt_move_bps: int | None = 500
    halt_window_s: int = 60
    halt_s: int = 30
    lock_ttl_ms: int = 2000
    batch_max_commands: int = 256
    order_wait_ms: int = 5000
    # A done order leaves Redis for MongoDB's `orders` this long after it ended, once every
    # reader of the journal has passed it (ledger/forget.py).
    order_archive_after_s: int = 300
    # How long the journal stays in Redis once every reader (the archive too) has passed it: for a
    # matcher or a feed that catches up from it, and the circuit breaker's window after a reload.
    journal_retention_s: int = 600
    secret_key: str = ""  # required where tokens are signed or checked: signing_key()
    token_ttl_s: int = 7 * 24 * 3600
    # Request limits per requester (Flask-Limiter syntax, empty: off), for everything but placing
    # orders, which the hold script limits per user (ORDER_RATE_LIMIT: one limit, empty: off).
    rate_limit: str = "50/second"
    order_rate: OrderRate | None = OrderRate(50, 1000)
    # Registrations per client address (each one hashes a password and opens an account).
    registration_rate_limit: str = "20/hour"
    # The public leaderboard is computed at most once per this many seconds, for every replica.
    leaderboard_max_age_s: int = 5
    data_dir: str = "./data"
    exchange_port: int = 8080
    orderbook_replicas: int = 2
    # Matcher processes `make up` starts; they share the symbols out (orderbook/worker.py).
    matcher_replicas: int = 1
    maker_fee_bps: int = 0
    taker_fee_bps: int = 10
    # Each API replica's worker processes and threads per process (orderbook/serve.py).
    api_workers: int = 2
    api_threads: int = 8
    # Tests only: the ticker's clock runs this many times faster than real time from
    # TICKER_CLOCK_ORIGIN_MS on, so minutes go by in seconds.
    ticker_clock_speed: int = 1
    ticker_clock_origin_ms: int = 0
    # Web (Socket.IO) replicas `make up` starts, and how each serves: eventlet
    # (green threads, the default) or threading (plain threads, no monkey-patching).
    web_replicas: int = 2
    socketio_async_mode: str = "eventlet"
    # Rule bots: where the bot runner sends its owners' orders (empty: nginx on
    # 127.0.0.1:EXCHANGE_PORT), how many active bots a user may have, how many
    # actions one bot may take a minute, and how often the runner looks.
    api_url: str = ""
    bot_max_active: int = 20
    bot_actions_per_minute: int = 30
    bot_runner_interval_ms: int = 250
    # Logs: JSON lines (one object per record, for a collector) or text (for a terminal).
    log_format: str = "json"
    log_level: str = "INFO"
    # GET /api/v1/healthz?deep=1 calls a kind of worker stale when its newest heartbeat is older.
    health_stale_s: int = 10
    # This process's Prometheus /metrics port (None: no metrics endpoint), and the address it
    # listens on (0.0.0.0 in a container, for a Prometheus in another).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    @classmethod
    def _process_counts(cls, env: Mapping[str, str]) -> dict[str, int]:
        """How many of each process `make up` runs, and each API replica's workers and threads."""
        names = {"orderbook_replicas": "ORDERBOOK_REPLICAS", "matcher_replicas": "MATCHER_REPLICAS",
                 "web_replicas": "WEB_REPLICAS", "api_workers": "API_WORKERS", "api_threads": "API_THREADS"}
        return {field: _int(env, name, getattr(cls, field)) for field, name in names.items()}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env  # only read
        return cls(
            redis_url=env.get("REDIS_URL", cls.redis_url),
            redis_cluster=_choice(env, "REDIS_CLUSTER", ("0", "1"), "0") == "1",
            mongo_url=env.get("MONGO_URL", cls.mongo_url),
            mongo_db=env.get("MONGO_DB", cls.mongo_db),
            symbols=_symbols(env),
            starting_cash_cents=parse_cash(env.get("STARTING_CASH", "10000.00")),
            starting_shares=_int(env, "STARTING_SHARES", cls.starting_shares),
            market_collar_bps=_int(env, "MARKET_COLLAR_BPS", cls.market_collar_bps),
            max_open_orders=_int(env, "MAX_OPEN_ORDERS", cls.max_open_orders),
            min_order_cents=_int(env, "MIN_ORDER_CENTS", cls.min_order_cents),
            price_band_bps=_bps_or_off(env, "PRICE_BAND_BPS", cls.price_band_bps),
            halt_move_bps=_bps_or_off(env, "HALT_MOVE_BPS", cls.halt_move_bps),
            halt_window_s=_positive(env, "HALT_WINDOW_S", cls.halt_window_s),
            halt_s=_positive(env, "HALT_S", cls.halt_s),
            max_order_notional_cents=_positive_or_off(env, "MAX_ORDER_NOTIONAL_CENTS", cls.max_order_notional_cents),
            max_position=_positive_or_off(env, "MAX_POSITION", cls.max_position),
            lock_ttl_ms=_int(env, "LOCK_TTL_MS", cls.lock_ttl_ms),
            batch_max_commands=_int(env, "BATCH_MAX_COMMANDS", cls.batch_max_commands),
            order_wait_ms=_int(env, "ORDER_WAIT_MS", cls.order_wait_ms),
            order_archive_after_s=_int(env, "ORDER_ARCHIVE_AFTER_S", cls.order_archive_after_s),
            journal_retention_s=_int(env, "JOURNAL_RETENTION_S", cls.journal_retention_s),
            secret_key=env.get("SECRET_KEY", cls.secret_key),
            token_ttl_s=_int(env, "TOKEN_TTL_S", cls.token_ttl_s),
            rate_limit=env.get("RATE_LIMIT", cls.rate_limit),
            order_rate=OrderRate.parse(env.get("ORDER_RATE_LIMIT", "50/second")),
            registration_rate_limit=env.get("REGISTRATION_RATE_LIMIT", cls.registration_rate_limit),
            leaderboard_max_age_s=_positive(env, "LEADERBOARD_MAX_AGE_S", cls.leaderboard_max_age_s),
            data_dir=env.get("EXCHANGE_DATA_DIR", cls.data_dir),
            exchange_port=_int(env, "EXCHANGE_PORT", cls.exchange_port),
            maker_fee_bps=_int(env, "MAKER_FEE_BPS", cls.maker_fee_bps),
            taker_fee_bps=_int(env, "TAKER_FEE_BPS", cls.taker_fee_bps),
            ticker_clock_speed=_int(env, "TICKER_CLOCK_SPEED", cls.ticker_clock_speed),
            ticker_clock_origin_ms=_int(env, "TICKER_CLOCK_ORIGIN_MS", cls.ticker_clock_origin_ms),
            socketio_async_mode=_async_mode(env.get("SOCKETIO_ASYNC_MODE") or cls.socketio_async_mode),
            **cls._process_counts(env),
            log_format=_choice(env, "LOG_FORMAT", ("json", "text"), cls.log_format),
            log_level=_choice(env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), cls.log_level),
            health_stale_s=_positive(env, "HEALTH_STALE_S", cls.health_stale_s),
            metrics_port=_positive_or_off(env, "METRICS_PORT", cls.metrics_port),
            metrics_host=env.get("METRICS_HOST") or cls.metrics_host,
            api_url=env.get("API_URL") or f"http://127.0.0.1:{_int(env, 'EXCHANGE_PORT', cls.exchange_port)}",
            bot_max_active=_int(env, "BOT_MAX_ACTIVE", cls.bot_max_active),
            bot_actions_per_minute=_int(env, "BOT_ACTIONS_PER_MINUTE", cls.bot_actions_per_minute),
            bot_runner_interval_ms=_int(env, "BOT_RUNNER_INTERVAL_MS", cls.bot_runner_interval_ms),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
