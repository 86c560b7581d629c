"""Rate limits key a client by its verified user, else by its address: a junk token buys no fresh budget."""
from __future__ import annotations

from dataclasses import replace

import pytest

from orderbook.app import create_app


@pytest.fixture
def limited(settings, redis_client):
    """A test client of an app allowing 3 requests a minute per client."""
    app = create_app(replace(settings, rate_limit="3/minute"))
    yield app.test_client()
    from exchange import mongo
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


def at(address: str, token: str | None = None) -> dict:
    """Headers of a request from ``address`` (as nginx's X-Real-IP names it), with a bearer token."""
    return {"X-Real-IP": address, **({"Authorization": f"Bearer {token}"} if token else {})}


def register(client, username: str, address: str) -> str:
    resp = client.post("/api/v1/users", json={"username": username, "password": "pw-pw-pw"}, headers=at(address))
    assert resp.status_code == 201, resp.json
    return resp.json["token"]


def test_junk_tokens_from_one_address_share_its_budget(limited):
    guess = {"username": "alice", "password": "guess"}
    codes = [limited.post("/api/v1/sessions", json=guess, headers=at("10.0.0.1", f"junk{i}")).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    refused = limited.post("/api/v1/sessions", json=guess, headers=at("10.0.0.1"))  # nor does no token
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    # Another address has its own budget.
    assert limited.post("/api/v1/sessions", json=guess, headers=at("10.0.0.2", "junk9")).status_code == 401


def test_without_x_real_ip_the_peer_address_is_the_client(limited):
    for status in (401, 401, 401, 429):
        resp = limited.get("/api/v1/account", headers={"Authorization": "Bearer junk"},
                           environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert resp.status_code == status
    other = limited.get("/api/v1/account", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert other.status_code == 401


def test_each_valid_user_has_their_own_budget_whatever_token_or_address(limited):
    alice = register(limited, "alice", "10.0.1.1")
    bob = register(limited, "bob", "10.0.1.2")
    alice_again = limited.post("/api/v1/sessions", json={"username": "alice", "password": "pw-pw-pw"},
                               headers=at("10.0.1.1")).json["token"]
    assert alice_again != alice
    # Alice's three requests, from two addresses and with two tokens, spend one budget.
    assert limited.get("/api/v1/account", headers=at("10.0.2.1", alice)).status_code == 200
    assert limited.get("/api/v1/account", headers=at("10.0.2.2", alice_again)).status_code == 200
    assert limited.get("/api/v1/account", headers=at("10.0.2.1", alice)).status_code == 200
    assert limited.get("/api/v1/account", headers=at("10.0.2.3", alice_again)).status_code == 429
    # Bob's budget is his own, even from the address Alice used.
    assert [limited.get("/api/v1/account", headers=at("10.0.2.1", bob)).status_code for _ in range(4)] == \
        [200, 200, 200, 429]
    # And the address itself, without a token, was never charged for their requests.
    assert limited.post("/api/v1/sessions", json={"username": "bob", "password": "pw-pw-pw"},
                        headers=at("10.0.2.1")).status_code == 201


def test_a_revoked_token_counts_against_its_address(limited):
    alice = register(limited, "alice", "10.0.3.1")
    deleted = limited.delete("/api/v1/sessions", headers=at("10.0.3.1", alice))  # log out: revoke it
    assert deleted.status_code in (200, 204), deleted.json
    codes = [limited.get("/api/v1/account", headers=at("10.0.3.2", alice)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
