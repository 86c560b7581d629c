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
from exchange.config import Settings, signing_key

REVOCATION_CHECK_S = 1.0
VERIFIED_CACHE_MAX = 100_000  # tokens this process has checked (signature, revocation); cleared when full


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Tokens:
    def __init__(self, settings: Settings, client: redis.Redis):
        self.ttl_s = settings.token_ttl_s
        self.client = client
        self.serializer = URLSafeTimedSerializer(signing_key(settings.secret_key), salt="exchange-token")
        # Token ids seen not revoked since the revocations key last changed; that key is
        # read at most every REVOCATION_CHECK_S, so a process pays one round trip a second,
        # not one per token, and a revocation still reaches it within that time.
        self._not_revoked: set[str] = set()
        self._revocations: bytes | None = None
        self._revocations_read_until = 0.0
        # Bumped on every clear: a check that started before a clear must not add its
        # (possibly stale) answer to the fresh set.
        self._generation = 0
        # token -> (user id, token id, when it expires): a token string whose signature checked
        # out once always will, so a bot's every request need not redo the HMAC.
        self._verified: dict[str, tuple[str, str, float]] = {}

    def issue(self, user_id: str) -> str:
        return self.serializer.dumps({"uid": user_id, "tid": uuid.uuid4().hex})

    def user_for(self, token: str) -> str:
        """The user a token names; TokenError if it is forged, expired or revoked."""
        user_id, token_id = self._unexpired(token)
        self._reread_revocations()
        if token_id not in self._not_revoked:
            generation = self._generation
            if self.client.exists(keys.revoked_token(token_id)):
                raise TokenError("invalid_token", "the token was revoked")
            if generation == self._generation:
                self._not_revoked.add(token_id)
        return user_id

    def refused(self, tokens: list[str]) -> dict[str, TokenError]:
        """Of ``tokens``, those now forged, expired or revoked, with why: for rechecking many
        long-lived sessions at once, in at most two round trips whatever their number."""
        refused: dict[str, TokenError] = {}
        unexpired: dict[str, str] = {}  # token -> token id
        for token in tokens:
            try:
                unexpired[token] = self._unexpired(token)[1]
            except TokenError as error:
                refused[token] = error
        self._reread_revocations()
        unknown = sorted({token_id for token_id in unexpired.values() if token_id not in self._not_revoked})
        if unknown:
            generation = self._generation
            pipe = self.client.pipeline(transaction=False)
            for token_id in unknown:
                pipe.exists(keys.revoked_token(token_id))
            revoked = {token_id for token_id, found in zip(unknown, pipe.execute()) if found}
            if generation == self._generation:
                self._not_revoked.update(set(unknown) - revoked)
            refused.update((token, TokenError("invalid_token", "the token was revoked"))
                           for token, token_id in unexpired.items() if token_id in revoked)
        return refused

    def _unexpired(self, token: str) -> tuple[str, str]:
        """(user id, token id) of a token with a good signature, not expired; else TokenError."""
        user_id, token_id, expires_at = self._verified.get(token) or self._verify(token)
        if time.time() > expires_at:
            raise TokenError("token_expired", "the token has expired; log in again")
        return user_id, token_id

    def _reread_revocations(self) -> None:
        """Forget which tokens were found not revoked when a revocation landed (read at most every
        REVOCATION_CHECK_S)."""
        now = time.monotonic()
        if now >= self._revocations_read_until:
            revocations = self.client.get(keys.revocations())
            if revocations != self._revocations or len(self._not_revoked) > VERIFIED_CACHE_MAX:
                self._generation += 1
                self._not_revoked = set()
                self._revocations = revocations
            self._revocations_read_until = now + REVOCATION_CHECK_S

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
        self._not_revoked.discard(claims["tid"])
        pipe = self.client.pipeline(transaction=False)
        pipe.set(keys.revoked_token(claims["tid"]), 1, ex=self.ttl_s)
        # A fresh random value, not a counter: a counter lost with its key could climb back
        # to a value some process still holds, and that process would never recheck.
        pipe.set(keys.revocations(), uuid.uuid4().hex)
        pipe.execute()
