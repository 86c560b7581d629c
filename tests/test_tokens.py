"""Bearer tokens (exchange.tokens): a verified token is remembered, but never past its expiry,
and a revocation still reaches it. fakeredis: this tests the adapter, not Redis."""
from __future__ import annotations

import fakeredis
import pytest
from itsdangerous import URLSafeTimedSerializer

from exchange import tokens as tokens_module
from exchange.config import Settings
from exchange.tokens import TokenError, Tokens
from tests.stack import TEST_SECRET_KEY


@pytest.fixture
def tokens():
    return Tokens(Settings(secret_key=TEST_SECRET_KEY, token_ttl_s=60), fakeredis.FakeRedis())


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


def test_a_revocation_reaches_another_process_within_the_check_interval(tokens, monkeypatch):
    token, other_token = tokens.issue("alice"), tokens.issue("bob")
    assert tokens.user_for(token) == "alice" and tokens.user_for(other_token) == "bob"
    other_process = Tokens(Settings(secret_key=TEST_SECRET_KEY, token_ttl_s=60), tokens.client)
    other_process.revoke(token)
    assert tokens.user_for(token) == "alice"  # inside this process's one-second window
    later = tokens_module.time.monotonic() + tokens_module.REVOCATION_CHECK_S
    monkeypatch.setattr(tokens_module.time, "monotonic", lambda: later)
    with pytest.raises(TokenError) as err:
        tokens.user_for(token)
    assert err.value.code == "invalid_token"
    assert tokens.user_for(other_token) == "bob"


def test_tokens_cost_one_round_trip_a_second_not_one_each(tokens, monkeypatch):
    now = tokens_module.time.monotonic()
    monkeypatch.setattr(tokens_module.time, "monotonic", lambda: now)  # all inside one check interval
    issued = [tokens.issue(f"user{n}") for n in range(20)]
    for token in issued:
        tokens.user_for(token)  # each id checked once against its revocation key
    calls = []
    for name in ("get", "exists"):
        monkeypatch.setattr(tokens.client, name, lambda *a, name=name: calls.append(name) or pytest.fail(name))
    for token in issued * 3:
        tokens.user_for(token)
    assert calls == []


def test_a_check_that_raced_a_revocation_is_not_remembered(tokens, monkeypatch):
    """Thread X finds the token not revoked; a revocation lands; thread Y sees the change and
    clears the cache; only then does X finish. X's stale answer must not enter the fresh cache."""
    token = tokens.issue("alice")
    clock = [tokens_module.time.monotonic()]
    monkeypatch.setattr(tokens_module.time, "monotonic", lambda: clock[0])
    tokens.user_for(tokens.issue("bob"))  # reads the revocations key now
    other_process = Tokens(Settings(secret_key=TEST_SECRET_KEY, token_ttl_s=60), tokens.client)
    real_exists = tokens.client.exists

    def exists_then_race(key):
        found = real_exists(key)  # X: not revoked yet
        monkeypatch.setattr(tokens.client, "exists", real_exists)
        other_process.revoke(token)
        clock[0] += tokens_module.REVOCATION_CHECK_S
        tokens.user_for(tokens.issue("carol"))  # Y: sees the change, clears
        return found

    monkeypatch.setattr(tokens.client, "exists", exists_then_race)
    assert tokens.user_for(token) == "alice"  # X answered before the revocation: fine once
    with pytest.raises(TokenError) as err:
        tokens.user_for(token)  # but never again
    assert err.value.code == "invalid_token"


def test_many_tokens_are_rechecked_in_one_pipeline_with_why_each_is_refused(tokens, monkeypatch):
    good, revoked = tokens.issue("alice"), tokens.issue("bob")
    with monkeypatch.context() as clock:
        issued_at = tokens_module.time.time() - 120  # signed two minutes ago: past its 60 s
        clock.setattr(tokens_module.time, "time", lambda: issued_at)
        expired = tokens.issue("carol")
    forged = URLSafeTimedSerializer("another-secret", salt="exchange-token").dumps({"uid": "dave", "tid": "x"})
    assert tokens.refused([good, revoked]) == {}
    Tokens(Settings(secret_key=TEST_SECRET_KEY, token_ttl_s=60), tokens.client).revoke(revoked)  # elsewhere
    later = tokens_module.time.monotonic() + tokens_module.REVOCATION_CHECK_S
    monkeypatch.setattr(tokens_module.time, "monotonic", lambda: later)
    monkeypatch.setattr(tokens.client, "exists", lambda *a: pytest.fail("one EXISTS per token, not a pipeline"))
    refused = tokens.refused([good, revoked, expired, forged])
    assert {token: error.code for token, error in refused.items()} == {
        revoked: "invalid_token", expired: "token_expired", forged: "invalid_token"}
    assert tokens.user_for(good) == "alice"  # found not revoked in the pipeline: remembered, no EXISTS
