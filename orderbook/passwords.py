"""Argon2id password hashes, at most ``MAX_CONCURRENT_HASHES`` at a time per process.

Each hash or check takes 64 MiB and about a third of a second of both cores
(argon2-cffi's defaults), so a login flood would otherwise grow a worker's
memory by 64 MiB for each of its threads busy hashing (8 by default).
Two at a time keep the cores busy; a request that finds no free slot within
``SLOT_WAIT_S`` gets 429 ``rate_limited`` with ``Retry-After``: the client is
asked to come back, the worker's threads stay free for orders, and memory stays
bounded at 2 × 64 MiB per process.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from orderbook.errors import ApiError

MIN_LENGTH = 8  # of a new password; older, shorter ones still log in
MAX_CONCURRENT_HASHES = 2
SLOT_WAIT_S = 1.0
RETRY_AFTER_S = 1

_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


@contextmanager
def _slot() -> Iterator[None]:
    if not _slots.acquire(timeout=SLOT_WAIT_S):
        raise ApiError(429, "rate_limited", "too many password checks at once; retry in a moment",
                       {"Retry-After": str(RETRY_AFTER_S)})
    try:
        yield
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    with _slot():
        return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    with _slot():
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
