"""Bearer tokens (exchange.tokens): a verified token is remembered, but never past its expiry,
and a revocation still reaches it. fakeredis: this tests the adapter, not Redis."""
from __future__ import annotations

import fakeredis
import pytest
from itsdangerous import URLSafeTimedSerializer

from exchange import tokens as tokens_module
from exchange.config import Settings
from exchange.tokens import TokenError, Tokens


@pytest.fixture
def tokens():
    return Tokens(Settings(secret_key="test-secret", token_ttl_s=60), fakeredis.FakeRedis())


def test_a_token_names_its_user_and_is_checked_once(tokens, monkeypatch):
    token = tokens.issue("alice")
    assert tokens.user_for(token) == "alice"
    calls = []
    monkeypatch.setattr(tokens.serializer, "loads", lambda *a, **k: calls.append(a) or pytest.fail("re-verified"))
    assert tokens.user_for(token) == "alice"
    assert calls == []


def test_a_remembered_token_still_expires(tokens, monkeypatch):
    token = tokens.issue("alice")
    assert tokens.user_for(token) == "alice"
    clock = tokens_module.time.time() + 61
    monkeypatch.setattr(tokens_module.time, "time", lambda: clock)
    with pytest.raises(TokenError) as err:
        tokens.user_for(token)
    assert err.value.code == "token_expired"


def test_forged_tokens_are_refused_and_not_remembered(tokens):
    forged = URLSafeTimedSerializer("another-secret", salt="exchange-token").dumps({"uid": "alice", "tid": "x"})
    for _ in range(2):
        with pytest.raises(TokenError) as err:
            tokens.user_for(forged)
        assert err.value.code == "invalid_token"
    assert forged not in tokens._verified


def test_a_revoked_token_is_refused_even_after_it_was_remembered(tokens, monkeypatch):
    token = tokens.issue("alice")
    assert tokens.user_for(token) == "alice"
    other_process = Tokens(Settings(secret_key="test-secret", token_ttl_s=60), tokens.client)
    other_process.revoke(token)
    monkeypatch.setattr(tokens_module, "REVOCATION_CHECK_S", 0.0)
    tokens._checked.clear()  # this process's one-second "not revoked" window has passed
    with pytest.raises(TokenError) as err:
        tokens.user_for(token)
    assert err.value.code == "invalid_token"
