"""Users, passwords and bearer tokens.

Passwords are hashed with Argon2id, a bounded number at a time per process
(``orderbook.passwords``); a new one has at least ``MIN_PASSWORD`` characters
(older, shorter ones still log in). Failed logins are counted per username in
Redis, and a username past its limit is refused before its password is checked
(``orderbook.login_throttle``). A token is signed (itsdangerous) and names the
user, so checking it needs no MongoDB round trip; revocation is a Redis key.
"""
from __future__ import annotations

import re
import time
import uuid

import redis
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from exchange import mongo
from exchange.config import Settings
from exchange.tokens import TokenError, Tokens
from ledger.accounts import Accounts
from orderbook.errors import ApiError
from orderbook.login_throttle import LoginThrottle
from orderbook.passwords import MIN_LENGTH as MIN_PASSWORD
from orderbook.passwords import hash_password, password_matches

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
MAX_PASSWORD = 256


class Auth:
    def __init__(self, settings: Settings, client: redis.Redis, db: Database, accounts: Accounts):
        self.settings = settings
        self.client = client
        self.db = db
        self.accounts = accounts
        self.tokens = Tokens(settings, client)
        self.login_throttle = LoginThrottle(client)

    # ---- registration and login ---------------------------------------------------

    def register(self, username: str, password: str) -> dict:
        _check_credentials(username, password)
        if len(password) < MIN_PASSWORD:
            raise ApiError(400, "invalid_password", f"password must be at least {MIN_PASSWORD} characters")
        user_id = uuid.uuid4().hex
        starting_shares = {symbol: self.settings.starting_shares for symbol in self.settings.symbols}
        now_ms = int(time.time() * 1000)
        password_hash = hash_password(password)  # before the transaction: it takes a third of a second
        def insert_user_and_account(session) -> None:
            self.db[mongo.USERS].insert_one(
                {"_id": user_id, "username": username, "password_hash": password_hash,
                 "created_ms": now_ms}, session=session)
            self.db[mongo.ACCOUNTS].insert_one(
                {"_id": user_id,
                 "cash": {"available": self.settings.starting_cash_cents, "on_hold": 0},
                 "positions": {s: {"available": q, "on_hold": 0} for s, q in starting_shares.items()},
                 "issued": {"cash": self.settings.starting_cash_cents, "shares": starting_shares}},
                session=session)
        try:
            # with_transaction retries a transient write conflict (concurrent registrations touch
            # the same unique index): without it, one of them answered 500.
            with mongo.client(self.settings.mongo_url).start_session() as session:
                session.with_transaction(insert_user_and_account)
        except DuplicateKeyError:
            raise ApiError(409, "username_taken", f"username {username!r} is already registered") from None
        self.accounts.open(user_id, self.settings.starting_cash_cents, starting_shares)
        return {"user_id": user_id, "username": username, "token": self.issue(user_id)}

    def login(self, username: str, password: str) -> dict:
        _check_credentials(username, password)
        self.login_throttle.check(username)
        user = self.db[mongo.USERS].find_one({"username": username})
        if user is None or not password_matches(user["password_hash"], password):
            self.login_throttle.failed(username)
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        self.login_throttle.succeeded(username)
        self.reopen_live_account(user["_id"])
        return {"user_id": user["_id"], "username": username, "token": self.issue(user["_id"])}

    def reopen_live_account(self, user_id: str) -> bool:
        """Seed a missing live account from the ledger of record (registration crashed between
        MongoDB and Redis, or Redis lost it); False if there is no such account anywhere."""
        if self.accounts.exists(user_id):
            return True
        account = self.db[mongo.ACCOUNTS].find_one({"_id": user_id})
        if account is None:
            return False
        self.accounts.open_if_absent(user_id, account["cash"]["available"],
                                     {s: p["available"] for s, p in account["positions"].items()})
        return True

    # ---- tokens -----------------------------------------------------------------------

    def issue(self, user_id: str) -> str:
        return self.tokens.issue(user_id)

    def user_for(self, token: str) -> str:
        try:
            return self.tokens.user_for(token)
        except TokenError as error:
            raise ApiError(401, error.code, error.message) from None

    def revoke(self, token: str) -> None:
        self.tokens.revoke(token)


def _check_credentials(username: str, password: str) -> None:
    if not USERNAME.match(username):
        raise ApiError(400, "invalid_username", "username must be 3-32 letters, digits, '_', '.' or '-'")
    if not password:
        raise ApiError(400, "invalid_password", "password must not be empty")
    if len(password) > MAX_PASSWORD:
        raise ApiError(400, "invalid_password", f"password must be at most {MAX_PASSWORD} characters")
