"""Bearer tokens: signed (itsdangerous), naming the user, revocable in Redis.

Checking a token needs no MongoDB round trip, so every tier can do it: the
REST API, and the web tier (which runs under eventlet and must not import
pymongo).
"""
from __future__ import annotations

import time
import uuid

import redis
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from exchange import keys
from exchange.config import Settings

REVOCATION_CHECK_S = 1.0
VERIFIED_CACHE_MAX = 100_000  # tokens whose signature this process has checked; cleared when full


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Tokens:
    def __init__(self, settings: Settings, client: redis.Redis):
        self.ttl_s = settings.token_ttl_s
        self.client = client
        self.serializer = URLSafeTimedSerializer(settings.secret_key, salt="exchange-token")
        self._checked: dict[str, float] = {}  # token id -> until when it is known not revoked
        # token -> (user id, token id, when it expires): a token string whose signature checked
        # out once always will, so a bot's every request need not redo the HMAC.
        self._verified: dict[str, tuple[str, str, float]] = {}

    def issue(self, user_id: str) -> str:
        return self.serializer.dumps({"uid": user_id, "tid": uuid.uuid4().hex})

    def user_for(self, token: str) -> str:
        """The user a token names; TokenError if it is forged, expired or revoked."""
        user_id, token_id, expires_at = self._verified.get(token) or self._verify(token)
        if time.time() > expires_at:
            raise TokenError("token_expired", "the token has expired; log in again")
        now = time.monotonic()
        if self._checked.get(token_id, 0.0) < now:
            # A revocation reaches every process within REVOCATION_CHECK_S, and the
            # order path saves a round trip on all but one request a second.
            if self.client.exists(keys.revoked_token(token_id)):
                raise TokenError("invalid_token", "the token was revoked")
            if len(self._checked) > 100_000:
                self._checked.clear()
            self._checked[token_id] = now + REVOCATION_CHECK_S
        return user_id

    def _verify(self, token: str) -> tuple[str, str, float]:
        try:
            claims, signed_at = self.serializer.loads(token, max_age=self.ttl_s, return_timestamp=True)
        except SignatureExpired:
            raise TokenError("token_expired", "the token has expired; log in again") from None
        except BadSignature:
            raise TokenError("invalid_token", "the bearer token is not valid") from None
        if len(self._verified) >= VERIFIED_CACHE_MAX:
            self._verified.clear()
        verified = self._verified[token] = (claims["uid"], claims["tid"], signed_at.timestamp() + self.ttl_s)
        return verified

    def revoke(self, token: str) -> None:
        claims = self.serializer.loads(token, max_age=self.ttl_s)
        self._checked.pop(claims["tid"], None)
        self.client.set(keys.revoked_token(claims["tid"]), 1, ex=self.ttl_s)
