"""Bad input gets a 4xx with {"error": {"code", "message"}}, never a 5xx, and changes nothing."""
from __future__ import annotations

import pytest

ORDERS = "/api/v1/orders"
GOOD = {"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 1}


def assert_error(resp, status: int, code: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    error = resp.json["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("change, code", [
    ({"symbol": "NOPE"}, "unknown_symbol"),
    ({"symbol": 7}, "invalid_symbol"),
    ({"price": "10.001"}, "invalid_price"),
    ({"price": "abc"}, "invalid_price"),
    ({"price": "-1.00"}, "invalid_price"),
    ({"price": "0"}, "invalid_price"),
    ({"price": "1e3"}, "invalid_price"),
    ({"price": "NaN"}, "invalid_price"),
    ({"price": 10.5}, "invalid_price"),
    ({"price": None}, "missing_field"),
    ({"quantity": 0}, "invalid_quantity"),
    ({"quantity": -3}, "invalid_quantity"),
    ({"quantity": 1.5}, "invalid_quantity"),
    ({"quantity": "5"}, "invalid_quantity"),
    ({"quantity": True}, "invalid_quantity"),
    ({"quantity": 10**12}, "invalid_quantity"),
    ({"side": "hold"}, "invalid_side"),
    ({"type": "stop_market"}, "invalid_type"),
    ({"time_in_force": "DAY"}, "invalid_time_in_force"),
    ({"post_only": "yes"}, "invalid_post_only"),
    ({"client_order_id": ""}, "invalid_client_order_id"),
    ({"client_order_id": "has space"}, "invalid_client_order_id"),
    ({"leverage": 100}, "unknown_field"),
    ({"type": "market"}, "invalid_price"),
])
def test_bad_order_fields(client, register, change, code):
    alice = register("alice")
    body = {**GOOD, **change}
    assert_error(client.post(ORDERS, json=body, headers=alice), 400, code)
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "0.00"


@pytest.mark.parametrize("missing", ["symbol", "side", "quantity"])
def test_missing_field(client, register, missing):
    alice = register("alice")
    body = {k: v for k, v in GOOD.items() if k != missing}
    assert_error(client.post(ORDERS, json=body, headers=alice), 400, "missing_field")


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", "\"string\"", "", "{\"symbol\": "])
def test_body_that_is_not_a_json_object(client, register, payload):
    alice = register("alice")
    resp = client.post(ORDERS, data=payload, headers={**alice, "Content-Type": "application/json"})
    assert_error(resp, 400, "invalid_json")


def test_unfundable_quantity(client, register):
    alice = register("alice")
    assert_error(client.post(ORDERS, json={**GOOD, "quantity": 1001}, headers=alice), 422, "insufficient_funds")
    sell = {**GOOD, "side": "sell", "quantity": 101}
    assert_error(client.post(ORDERS, json=sell, headers=alice), 422, "insufficient_funds")


def test_unknown_and_foreign_orders(client, register):
    alice, bob = register("alice"), register("bob")
    order_id = client.post(ORDERS, json=GOOD, headers=alice).json["order_id"]
    unknown = f"{ORDERS}/KRYP.{'0' * 28}"  # an id's shape: the matcher is asked, and finds nothing
    for path in (f"{ORDERS}/KRYP.doesnotexist", f"{ORDERS}/garbage", unknown, f"{ORDERS}/{order_id}"):
        headers = bob if path.endswith(order_id) else alice
        assert_error(client.get(path, headers=headers), 404, "not_found")
        assert_error(client.delete(path, headers=headers), 404, "not_found")
    assert client.get(f"{ORDERS}/{order_id}", headers=alice).json["status"] == "new"
    # Once closed, it is still not bob's: 404 for him, 409 only for its owner.
    assert client.delete(f"{ORDERS}/{order_id}", headers=alice).status_code == 200
    assert_error(client.delete(f"{ORDERS}/{order_id}", headers=bob), 404, "not_found")
    assert_error(client.delete(f"{ORDERS}/{order_id}", headers=alice), 409, "order_not_open")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer not-a-token"},
                                     {"Authorization": "Bearer eyJ1aWQiOiJ4In0.forged.sig"}])
def test_bad_or_missing_token(client, headers):
    resp = client.get("/api/v1/account", headers=headers)
    assert resp.status_code == 401 and resp.json["error"]["code"] in ("unauthorized", "invalid_token")
    assert_error(client.post(ORDERS, json=GOOD, headers=headers), 401, resp.json["error"]["code"])


def test_registration_errors(client, register):
    register("alice")
    assert_error(client.post("/api/v1/users", json={"username": "alice", "password": "another password"}),
                 409, "username_taken")
    assert_error(client.post("/api/v1/users", json={"username": "bob", "password": ""}), 400, "invalid_password")
    assert_error(client.post("/api/v1/users", json={"username": "bob", "password": "1234567"}), 400,
                 "invalid_password")  # at least 8 characters
    assert_error(client.post("/api/v1/users", json={"username": "b", "password": "long enough"}), 400,
                 "invalid_username")
    assert_error(client.post("/api/v1/users", json={"username": "bob"}), 400, "missing_field")
    assert_error(client.post("/api/v1/users", json={"username": 5, "password": "x"}), 400, "invalid_username")
    assert_error(client.post("/api/v1/sessions", json={"username": "alice", "password": "wrong"}), 401,
                 "invalid_credentials")
    assert_error(client.post("/api/v1/sessions", json={"username": "nobody", "password": "x"}), 401,
                 "invalid_credentials")


def test_other_users_accounts_and_bad_query_args(client, register):
    alice, bob = register("alice"), register("bob")
    assert_error(client.get(f"/api/v1/balance/{bob.user_id}", headers=alice), 403, "forbidden")
    assert_error(client.get(f"/api/v1/holdings/KRYP/{bob.user_id}", headers=alice), 403, "forbidden")
    assert client.get(f"/api/v1/balance/{alice.user_id}", headers=alice).json["available"] == "10000.00"
    assert_error(client.get("/api/v1/book/NOPE"), 404, "unknown_symbol")
    assert_error(client.get("/api/v1/book/KRYP?depth=-1"), 400, "invalid_parameter")
    assert_error(client.get("/api/v1/trades/KRYP?limit=abc"), 400, "invalid_parameter")
    assert_error(client.get(f"{ORDERS}?status=weird", headers=alice), 400, "invalid_parameter")
    assert_error(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_error(client.put(ORDERS, json=GOOD, headers=alice), 405, "method_not_allowed")


def test_rate_limit_is_per_client_and_a_429_with_a_code(settings, redis_client):
    from dataclasses import replace

    from orderbook.app import create_app

    app = create_app(replace(settings, rate_limit="3/minute"))
    client = app.test_client()
    alice = client.post("/api/v1/users", json={"username": "alice", "password": "correct horse"}).json["token"]
    headers = {"Authorization": f"Bearer {alice}"}
    codes = [client.get("/api/v1/account", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/account", headers=headers)
    assert_error(limited, 429, "rate_limited")
    assert limited.headers.get("Retry-After")
    other = client.post("/api/v1/sessions", json={"username": "alice", "password": "correct horse"})
    assert other.status_code == 201  # another client (no token: its address) has its own budget
    assert client.get("/api/v1/healthz").status_code == 200


DEEP_BODIES = {"lists": "[" * 5000 + "]" * 5000, "objects": '{"a": ' * 5000 + "1" + "}" * 5000,
               "in a field": '{"username": ' + "[" * 5000 + "]" * 5000 + ', "password": "pw"}'}


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/sessions", ORDERS])
@pytest.mark.parametrize("body", list(DEEP_BODIES.values()), ids=list(DEEP_BODIES))
def test_a_deeply_nested_body_is_invalid_json(client, register, path, body):
    # Past Python's recursion limit the JSON decoder raises RecursionError, not ValueError.
    headers = register("alice") if path == ORDERS else {}
    resp = client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})
    assert_error(resp, 400, "invalid_json")


def test_only_strings_shaped_like_order_ids_name_a_symbol():
    from exchange.order_ids import new_order_id, order_id_symbol

    assert order_id_symbol(new_order_id("KRYP", 1795479423746)) == "KRYP"
    for junk in ("KRYP.doesnotexist", "garbage", "KRYP." + "0" * 27, "KRYP." + "0" * 29, "KRYP." + "G" * 28, ""):
        assert order_id_symbol(junk) is None, junk


def test_a_symbol_listed_after_an_account_opened_reads_as_none_held(settings, redis_client, register, client):
    from dataclasses import replace

    from orderbook.app import create_app

    alice = register("alice")
    later = create_app(replace(settings, symbols=(*settings.symbols, "NEWS"))).test_client()
    resp = later.get(f"/api/v1/holdings/NEWS/{alice.user_id}", headers=alice)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert (resp.json["available"], resp.json["on_hold"]) == (0, 0)
    assert later.get("/api/v1/account", headers=alice).json["balances"]["NEWS"] == {"available": 0, "on_hold": 0}


def test_a_live_account_redis_lost_is_reopened_from_the_ledger_not_a_500(client, register, redis_client):
    from exchange import keys

    alice = register("alice")
    redis_client.delete(keys.account(alice.user_id))
    for path in ("/api/v1/account", f"/api/v1/balance/{alice.user_id}", f"/api/v1/holdings/KRYP/{alice.user_id}"):
        resp = client.get(path, headers=alice)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["available"] == "10000.00"


def test_reopening_a_live_account_never_overwrites_one_that_exists(app, register, redis_client):
    from exchange import keys

    alice = register("alice")
    accounts = app.extensions["exchange"].accounts
    assert accounts.place_hold(alice.user_id, "cash", 500, "KRYP.hold")
    assert not accounts.open_if_absent(alice.user_id, 1_000_000, {"KRYP": 100})
    assert int(redis_client.hget(keys.account(alice.user_id), "cash:on_hold")) == 500
