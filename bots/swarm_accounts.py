"""The swarm's accounts, kept from run to run: a swarm logs its bots in rather than registering them anew.

Registrations are limited per address (REGISTRATION_RATE_LIMIT, 20 an hour by
default) and a swarm is nine bots by default, so a fresh set each run would stop
the third run of the hour. The swarm remembers, for each exchange URL, its
username prefix and its bots' password in a small JSON file (mode 0600: it holds
a password), by default ``$EXCHANGE_DATA_DIR/swarm-accounts.json``. A run logs
each bot in and registers only those that do not exist yet.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from exchange_client import ApiError, ExchangeClient

FILE_NAME = "swarm-accounts.json"


@dataclass(frozen=True)
class SwarmIdentity:
    prefix: str
    password: str


def choose(path: Path | None, url: str, prefix: str = "", password: str = "") -> SwarmIdentity:
    """The prefix and password to use: those given, else those remembered for ``url``, else fresh ones."""
    remembered = _read(path).get(url, {}) if path else {}
    prefix = prefix or remembered.get("prefix") or f"sw{secrets.token_hex(3)}"
    if not password and remembered.get("prefix") == prefix:
        password = remembered.get("password", "")
    return SwarmIdentity(prefix, password or secrets.token_urlsafe(12))


def remember(path: Path | None, url: str, identity: SwarmIdentity) -> None:
    if path is None:
        return
    saved = _read(path)
    saved[url] = {"prefix": identity.prefix, "password": identity.password}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(saved, file, indent=2)


def sign_in(api: ExchangeClient, username: str, password: str) -> bool:
    """Log ``username`` in, or register it if it does not exist; True if it was registered now."""
    try:
        api.login(username, password)
        return False
    except ApiError as error:
        if error.code != "invalid_credentials":
            raise
    try:
        api.register(username, password)
    except ApiError as error:
        if error.code == "username_taken":
            raise ApiError(error.status, error.code,
                           f"{username} exists with another password: pass --prefix for fresh accounts, "
                           "or the --password it was registered with") from None
        raise
    return True


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
