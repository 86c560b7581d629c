"""Every Redis key the exchange uses, built in one place.

Per-symbol keys carry the hash tag ``{SYM}`` so that one symbol's book, journal
and replies share a Redis Cluster slot and one Lua script may touch them all.
Per-user keys carry ``{u:ID}`` for the same reason.
"""
from __future__ import annotations


def _sym(symbol: str) -> str:
    return f"ob:{{{symbol}}}"


# ---- one symbol's book ----------------------------------------------------------

def bids(symbol: str) -> str:
    return f"{_sym(symbol)}:bids"


def asks(symbol: str) -> str:
    return f"{_sym(symbol)}:asks"


def stops(symbol: str) -> str:
    """Sorted set of the parked stop orders (member as in bids/asks, score: the priority); their
    states are in ``orders``."""
    return f"{_sym(symbol)}:stops"


def levels(symbol: str, side: str) -> str:
    """Sorted set of one side's price levels (member: price ticks, score as in bids/asks), so a
    snapshot reads the best N levels without walking the orders at them."""
    return f"{_sym(symbol)}:levels:{side}"


def depth(symbol: str, side: str) -> str:
    """Hash price ticks -> total quantity resting at that price, one side of the book."""
    return f"{_sym(symbol)}:depth:{side}"


def orders(symbol: str) -> str:
    """Hash order id -> JSON state of every order of the symbol (resting or done)."""
    return f"{_sym(symbol)}:orders"


def seq(symbol: str) -> str:
    """Last event sequence committed for the symbol (gap-free)."""
    return f"{_sym(symbol)}:seq"


def epoch(symbol: str) -> str:
    """The journal's epoch: made (from Redis's clock, ms) by the first batch that finds it missing,
    so a Redis that lost its data starts a new one and the journal's readers can tell."""
    return f"{_sym(symbol)}:epoch"


def journal_fault(symbol: str) -> str:
    """Set by the ledger of record when the journal no longer continues what it applied (an
    epoch change, or sequences reused after a loss): what it found, until an operator recovers."""
    return f"{_sym(symbol)}:journal-fault"


def fence(symbol: str) -> str:
    """Fencing-token counter: the newest lock holder's token is the only valid one."""
    return f"{_sym(symbol)}:fence"


def cursor(symbol: str) -> str:
    """Id of the last inbox entry applied to the book."""
    return f"{_sym(symbol)}:cursor"


def inbox(symbol: str) -> str:
    """Stream of commands (new, cancel, amend) in arrival order: this fixes time priority."""
    return f"{_sym(symbol)}:inbox"


def events(symbol: str) -> str:
    """Stream: the journal of everything that happened to the book."""
    return f"{_sym(symbol)}:events"


def done_orders(symbol: str) -> str:
    """Sorted set: done order ids by the journal sequence they ended at. The archive forgets
    (ledger/forget.py) the ones every reader has passed, once ORDER_ARCHIVE_AFTER_S went by."""
    return f"{_sym(symbol)}:done"


def done_backfilled(symbol: str) -> str:
    """Set once the done orders stored before the done index existed were indexed (ledger/backfill.py)."""
    return f"{_sym(symbol)}:done-backfilled"


def voided(symbol: str) -> str:
    """Sorted set of order ids the book refuses for good (their holds were voided), scored by
    when (ms); forgotten after the matcher's VOIDED_MEMORY, past which it refuses any order that old."""
    return f"{_sym(symbol)}:voided"


def lock(symbol: str) -> str:
    """Redlock key name (pottery prefixes it with 'redlock:')."""
    return f"{_sym(symbol)}:lock"


def matcher_roster() -> str:
    """Sorted set of the live matcher processes (id -> when its place lapses, ms on the Redis
    server's clock); they share the symbols out by it (orderbook/symbol_shares.py)."""
    return "matchers:roster"


def reply(symbol: str, reply_to: str) -> str:
    """List the matcher pushes one inbox command's result to; its submitter blocks on it.
    ``reply_to`` is a random address the submitter puts on the command."""
    return f"{_sym(symbol)}:reply:{reply_to}"


def open_orders(symbol: str, user_id: str) -> str:
    """Set of one user's open order ids on one symbol."""
    return f"{_sym(symbol)}:open:{user_id}"


def fills(symbol: str, order_id: str) -> str:
    """List of one order's fills (JSON), in matching order."""
    return f"{_sym(symbol)}:fills:{order_id}"


def trading_status(symbol: str) -> str:
    """JSON of the symbol's trading status (exchange.trading_status), written by the matcher with
    the halted and resumed journal events; absent: trading."""
    return f"{_sym(symbol)}:trading"


def trades(symbol: str) -> str:
    """List of the most recent trades (JSON), newest first, capped by the commit."""
    return f"{_sym(symbol)}:trades"


# ---- one user --------------------------------------------------------------------

def _user(user_id: str) -> str:
    return f"u:{{{user_id}}}"


def account(user_id: str) -> str:
    """Hash of the live balances and holds (integers) of one account."""
    return f"{_user(user_id)}:acct"


ACCOUNT_PATTERN = "u:{*}:acct"  # SCAN MATCH for every live account (account() builds each)


def account_owner(account_key: bytes | str) -> str:
    """The user id in a key that account() built."""
    text = account_key.decode() if isinstance(account_key, bytes) else account_key
    return text[len("u:{"):-len("}:acct")]


def user_orders(user_id: str) -> str:
    """Sorted set of a user's order ids scored by entry time (ms)."""
    return f"{_user(user_id)}:orders"


def order_rate(user_id: str) -> str:
    """Counter of the orders one user placed in the current order-rate window (expires with it)."""
    return f"{_user(user_id)}:order-rate"


def client_order_id(user_id: str, client_id: str) -> str:
    return f"{_user(user_id)}:coid:{client_id}"


def user_api_keys(user_id: str) -> str:
    """Set of the API key ids a user has."""
    return f"{_user(user_id)}:api-keys"


def api_key(key_id: str) -> str:
    """Hash of one API key: its owner, scopes, label, creation time, salt and the secret's SHA-256."""
    return f"auth:api-key:{key_id}"


def api_signature(key_id: str, signature: str) -> str:
    """A signature one API key used, kept for the timestamp window so the request cannot be replayed."""
    return f"auth:api-sig:{key_id}:{signature}"


def revoked_token(token_id: str) -> str:
    return f"auth:revoked:{token_id}"


def revocations() -> str:
    """A random value every revocation replaces: a process rechecks its tokens only when it changed."""
    return "auth:revocations"


def login_failures_prefix() -> str:
    """Prefix of the failed-login windows per username (``limits`` appends the rest)."""
    return "auth:login-failures"


def rate_limit_prefix() -> str:
    return "ratelimit"


# ---- leaderboard -------------------------------------------------------------------

def leaderboard() -> str:
    """The last computed standings (JSON in dogpile.cache's envelope), shared by every API replica."""
    return "leaderboard:standings"


def cache_lock_prefix() -> str:
    """dogpile.cache's regeneration lock is this prefix + the cached key (``lock:leaderboard:standings``)."""
    return "lock:"


# ---- settlement ---------------------------------------------------------------------

def settled_cursor(symbol: str) -> str:
    """Id of the last journal entry the settlement worker applied to live accounts."""
    return f"{_sym(symbol)}:settled"


def settlement_lease(symbol: str) -> str:
    return f"{_sym(symbol)}:settle-lease"


def ledger_lease(symbol: str) -> str:
    """Lease of the worker feeding the symbol's journal to the ledger of record."""
    return f"{_sym(symbol)}:ledger-lease"


def archived_cursor(symbol: str) -> str:
    """Id of the last journal entry the archive (MongoDB ``events``) holds: retention trims
    nothing after it."""
    return f"{_sym(symbol)}:archived"


def archive_lease(symbol: str) -> str:
    """Lease of the worker copying the symbol's journal to the archive."""
    return f"{_sym(symbol)}:archive-lease"


# ---- candles (ticker) -----------------------------------------------------------------

def live_candle(symbol: str, interval: str) -> str:
    """Hash of the candle still open for ``interval`` ('1s' or '1m')."""
    return f"{_sym(symbol)}:candle:{interval}"


def recent_seconds(symbol: str) -> str:
    """List of the latest closed 1-second candles (JSON), newest first, capped."""
    return f"{_sym(symbol)}:candles:1s"


def closed_minutes(symbol: str) -> str:
    """Sorted set of closed minute candles (JSON) waiting to be persisted, scored by start."""
    return f"{_sym(symbol)}:candles:1m:closed"


def last_closed_minute(symbol: str) -> str:
    """Start of the newest minute candle closed; a trade for it or earlier counts in the next."""
    return f"{_sym(symbol)}:candle:1m:closed"


def ticker_cursor(symbol: str) -> str:
    """Id of the last journal entry the candles include."""
    return f"{_sym(symbol)}:ticker-cursor"


def flusher_lease(symbol: str) -> str:
    return f"{_sym(symbol)}:flusher-lease"


# ---- rule bots ------------------------------------------------------------------------------

def bot_actions(bot_id: str, minute: int) -> str:
    """Counter of the actions one rule bot took in one clock minute (its per-bot cap)."""
    return f"bot:{{{bot_id}}}:actions:{minute}"


def heartbeats(kind: str) -> str:
    """Hash of one kind of worker's heartbeats: instance ("host:pid") -> JSON {time_ms, pid, loops}."""
    return f"health:{kind}:heartbeats"
