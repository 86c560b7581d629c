"""MongoDB collections and their indexes, in one place.

Only processes that never run under eventlet import this module.
"""
from __future__ import annotations

from functools import lru_cache

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database

USERS = "users"        # {_id: user_id, username, password_hash, created_ms}
ACCOUNTS = "accounts"  # {_id: user_id, cash: {available, on_hold}, positions: {SYM: {available, on_hold}}}


@lru_cache(maxsize=8)
def client(url: str) -> MongoClient:
    return MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=True)


def database(url: str, name: str) -> Database:
    return client(url)[name]


def ensure_indexes(db: Database) -> None:
    db[USERS].create_index([("username", ASCENDING)], unique=True, name="username_unique")
