"""API keys for programs: scoped, created and revoked by their owner, each request signed with HMAC-SHA256.

A key has an id (public) and a secret (shown once, at creation). A signed request carries

    X-API-Key: <key id>
    X-API-Timestamp: <epoch milliseconds>
    X-API-Signature: hex(HMAC-SHA256(secret, timestamp + METHOD + path?query + body))

and is refused (401) if the key is unknown or revoked (``invalid_api_key``), the timestamp is
more than ``SIGNATURE_WINDOW_MS`` from the server's clock (``stale_timestamp``), the
signature does not match (``invalid_signature``), or the same signature was already used
(``replayed_request``: each signature is remembered for twice the window, so a captured
request cannot be sent again). A ``read`` key may only read (GET); placing, amending and
canceling orders needs ``trade`` (403 ``insufficient_scope``). Keys are managed with the
page's bearer token only: a key cannot make or revoke keys.

Nothing in Redis can sign: the secret is derived from SECRET_KEY and the key's random salt
(HMAC-SHA256), and Redis keeps only the salt and the secret's SHA-256, which a request's
check compares the derived secret against (so a changed SECRET_KEY makes old keys invalid,
never valid for someone else).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import redis

from exchange import keys
from exchange.config import Settings, signing_key
from orderbook.errors import ApiError, not_found

SCOPES = ("read", "trade")
SIGNATURE_WINDOW_MS = 30_000
MAX_KEYS_PER_USER = 10


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """What a client sends as X-API-Signature (``path`` with its query string, as requested)."""
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ApiKeys:
    def __init__(self, settings: Settings, client: redis.Redis):
        self.client = client
        self._signing_key = signing_key(settings.secret_key).encode()

    def _secret(self, key_id: str, salt: str) -> str:
        digest = hmac.new(self._signing_key, f"api-key:{key_id}:{salt}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # ---- the owner's side ----------------------------------------------------------------

    def create(self, user_id: str, scopes: list[str], label: str | None) -> dict:
        if self.client.scard(keys.user_api_keys(user_id)) >= MAX_KEYS_PER_USER:
            raise ApiError(422, "api_key_limit", f"at most {MAX_KEYS_PER_USER} API keys a user; revoke one first")
        key_id, salt = f"k_{secrets.token_hex(12)}", secrets.token_hex(16)
        secret = self._secret(key_id, salt)
        created_ms = int(time.time() * 1000)
        scopes = [scope for scope in SCOPES if scope in scopes]
        # Two slots on a cluster (the key's, its owner's), so two writes in the order that is safe if
        # the second never happens: listed first, usable second (a listed id without a record is skipped).
        self.client.sadd(keys.user_api_keys(user_id), key_id)
        self.client.hset(keys.api_key(key_id), mapping={
            "user_id": user_id, "scopes": ",".join(scopes), "label": label or "", "created_ms": created_ms,
            "salt": salt, "secret_sha256": hashlib.sha256(secret.encode()).hexdigest()})
        return {**self._view(key_id, scopes, label, created_ms), "secret": secret}

    def of_user(self, user_id: str) -> list[dict]:
        key_ids = sorted(m.decode() for m in self.client.smembers(keys.user_api_keys(user_id)))
        pipe = self.client.pipeline(transaction=False)
        for key_id in key_ids:
            pipe.hgetall(keys.api_key(key_id))
        return [self._view(key_id, record[b"scopes"].decode().split(","), record[b"label"].decode() or None,
                           int(record[b"created_ms"]))
                for key_id, record in zip(key_ids, pipe.execute()) if record]

    def revoke(self, user_id: str, key_id: str) -> None:
        owner = self.client.hget(keys.api_key(key_id), "user_id")
        if owner is None or owner.decode() != user_id:
            raise not_found(f"no API key {key_id!r}")
        self.client.delete(keys.api_key(key_id))  # unusable first, then unlisted (as in create)
        self.client.srem(keys.user_api_keys(user_id), key_id)

    @staticmethod
    def _view(key_id: str, scopes: list[str], label: str | None, created_ms: int) -> dict:
        return {"key_id": key_id, "scopes": scopes, "label": label, "created_at": created_ms}

    # ---- a signed request --------------------------------------------------------------------

    def verify(self, key_id: str, timestamp: str, sent: str, method: str, path: str,
               body: bytes) -> tuple[str, frozenset[str]]:
        """(the key's owner, its scopes) for a correctly signed, fresh, first-seen request; else 401."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.api_key(key_id))
        # Claimed before the checks, in the same round trip: only a valid signature matters, and
        # nobody without the secret can make the one a later request of the key's owner will use.
        pipe.set(keys.api_signature(key_id, sent[:128]), 1, nx=True, px=2 * SIGNATURE_WINDOW_MS)
        record, first_use = pipe.execute()
        if not record:
            raise ApiError(401, "invalid_api_key", "unknown or revoked API key")
        secret = self._secret(key_id, record[b"salt"].decode())
        if not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest().encode(), record[b"secret_sha256"]):
            raise ApiError(401, "invalid_api_key", "this API key was made under another SECRET_KEY; make a new one")
        if not (timestamp.isascii() and timestamp.isdigit()) or abs(int(timestamp) - time.time() * 1000) > SIGNATURE_WINDOW_MS:
            raise ApiError(401, "stale_timestamp", f"X-API-Timestamp must be epoch milliseconds within "
                           f"{SIGNATURE_WINDOW_MS // 1000} s of the exchange's clock")
        if not hmac.compare_digest(signature(secret, timestamp, method, path, body).encode(), sent.encode()):
            raise ApiError(401, "invalid_signature", "X-API-Signature must be hex HMAC-SHA256 of timestamp + "
                           "method + path (with its query) + body, keyed with the key's secret")
        if not first_use:
            raise ApiError(401, "replayed_request", "this signature was already used: sign each request afresh")
        return record[b"user_id"].decode(), frozenset(record[b"scopes"].decode().split(","))
