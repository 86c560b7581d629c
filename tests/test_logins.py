"""Logins and registrations are dear (argon2: 64 MiB and a third of a second each), so:
failed logins are throttled per username in Redis, password hashing is bounded per process,
and new passwords have at least 8 characters."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from exchange import mongo
from orderbook import auth as auth_module
from orderbook import passwords
from orderbook.app import create_app
from orderbook.login_throttle import LoginThrottle

PASSWORD = "correct horse"


def login(client, username: str, password: str):
    return client.post("/api/v1/sessions", json={"username": username, "password": password})


def test_ten_failed_logins_lock_the_username_on_every_replica_until_the_window_frees(client, register, settings,
                                                                                      monkeypatch):
    register("alice")
    register("bob")
    assert [login(client, "alice", f"guess {n}").status_code for n in range(10)] == [401] * 10

    checked = []
    monkeypatch.setattr(auth_module, "password_matches", lambda *a: checked.append(a) or pytest.fail("checked"))
    locked = login(client, "alice", "guess 10")
    assert locked.status_code == 429 and locked.json["error"]["code"] == "rate_limited"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert login(client, "alice", PASSWORD).status_code == 429  # the owner too, while locked
    other_replica = create_app(settings).test_client()
    assert login(other_replica, "alice", PASSWORD).status_code == 429  # the count lives in Redis
    assert checked == []  # a locked username costs no password check
    monkeypatch.undo()
    assert login(client, "bob", PASSWORD).status_code == 201  # other usernames are not affected


def test_a_successful_login_clears_the_failures(client, register):
    register("alice")
    assert [login(client, "alice", f"guess {n}").status_code for n in range(9)] == [401] * 9
    assert login(client, "alice", PASSWORD).status_code == 201
    assert [login(client, "alice", f"guess {n}").status_code for n in range(10)] == [401] * 10
    assert login(client, "alice", PASSWORD).status_code == 429


def test_unknown_usernames_are_throttled_the_same(client):
    assert [login(client, "nobody", "guess").status_code for _ in range(11)] == [401] * 10 + [429]


def test_a_failure_leaves_the_window_when_it_is_old_enough(redis_client):
    throttle = LoginThrottle(redis_client, "2 per 2 seconds")
    throttle.failed("alice")
    throttle.failed("alice")
    with pytest.raises(auth_module.ApiError) as locked:
        throttle.check("alice")
    assert locked.value.status == 429 and 1 <= int(locked.value.headers["Retry-After"]) <= 2
    throttle.check("bob")
    time.sleep(2.1)
    throttle.check("alice")


def test_password_hashing_is_bounded_per_process_and_the_rest_are_told_to_retry(client, register, monkeypatch):
    register("alice")
    busy, peak, lock = [0], [0], threading.Lock()
    real = passwords._hasher

    class SlowHasher:
        def verify(self, password_hash, password):
            with lock:
                busy[0] += 1
                peak[0] = max(peak[0], busy[0])
            try:
                time.sleep(2.5)  # longer than a waiting request waits for a slot
                return real.verify(password_hash, password)
            finally:
                with lock:
                    busy[0] -= 1

    monkeypatch.setattr(passwords, "_hasher", SlowHasher())
    start = threading.Barrier(8)

    def attempt(_):
        start.wait()
        return login(client.application.test_client(), "alice", PASSWORD)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(attempt, range(8)))
    codes = sorted(reply.status_code for reply in replies)
    assert peak[0] == passwords.MAX_CONCURRENT_HASHES == 2
    assert codes == [201] * 2 + [429] * 6
    refused = [reply for reply in replies if reply.status_code == 429]
    assert all(r.json["error"]["code"] == "rate_limited" and r.headers["Retry-After"] == "1" for r in refused), [(r.json, dict(r.headers)) for r in refused][:1]


def test_new_passwords_have_8_characters_but_older_shorter_ones_still_log_in(client, register, settings):
    short = client.post("/api/v1/users", json={"username": "alice", "password": "1234567"})
    assert short.status_code == 400 and short.json["error"]["code"] == "invalid_password"
    assert "8" in short.json["error"]["message"]
    alice = register("alice", "12345678")
    # An account from before the rule, with a 2-character password.
    users = mongo.database(settings.mongo_url, settings.mongo_db)[mongo.USERS]
    users.update_one({"_id": alice.user_id}, {"$set": {"password_hash": passwords._hasher.hash("pw")}})
    assert login(client, "alice", "pw").status_code == 201
    assert login(client, "alice", "12345678").status_code == 401


def test_registrations_per_address_have_their_own_lower_limit(settings, redis_client):
    app = create_app(replace(settings, rate_limit="100/minute", registration_rate_limit="3/hour"))
    client = app.test_client()
    try:
        def register(name: str, address: str):
            return client.post("/api/v1/users", json={"username": name, "password": PASSWORD},
                               headers={"X-Real-IP": address})

        assert [register(f"user{n}", "10.0.0.1").status_code for n in range(3)] == [201] * 3
        refused = register("user3", "10.0.0.1")
        assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0
        # A token does not buy a fresh budget; another address has its own.
        token = login(client, "user0", PASSWORD).json["token"]
        assert client.post("/api/v1/users", json={"username": "user4", "password": PASSWORD},
                           headers={"X-Real-IP": "10.0.0.1", "Authorization": f"Bearer {token}"}).status_code == 429
        assert register("user5", "10.0.0.2").status_code == 201
        # Logins and everything else keep the general limit.
        assert login(client, "user0", PASSWORD).status_code == 201
    finally:
        mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


def test_concurrent_registrations_all_succeed(client, monkeypatch, settings):
    """Registrations whose MongoDB transactions overlap conflict on the users' unique index; the
    transaction is retried, never answered 500. (Hashing is made cheap so many overlap.)"""
    from concurrent.futures import ThreadPoolExecutor

    from exchange import mongo
    from orderbook import auth

    monkeypatch.setattr(auth, "hash_password", lambda password: "not-a-real-hash")
    names = [f"rush{n}" for n in range(48)]

    def register(name: str) -> int:
        return client.post("/api/v1/users", json={"username": name, "password": "correct horse"}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(register, names))
    assert codes == [201] * len(names)
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    assert db[mongo.USERS].count_documents({"username": {"$in": names}}) == len(names)
    assert db[mongo.ACCOUNTS].count_documents({}) >= len(names)
