"""Authorization sweep, REST: two users, and every route that names an order, a bot, a balance or
a fill. For the other user's object the caller gets 403 or 404, the same answer as for an object
that does not exist, or a list without it; nothing of the other user's changes.

The routes come from the app's own URL map. A route with an id in its path is probed with the
other user's ids automatically (an argument without probe values fails the sweep); every other
route is either PUBLIC (names no user's object) or swept by a test marked ``@sweeps``, so a new
route fails ``test_every_route_is_public_probed_by_id_or_swept`` until it is covered.

One stack for the module: nginx, an API replica, the matcher and the ledger worker.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import time
import uuid

import pytest
import requests

from exchange.order_ids import new_order_id
from exchange.paging import encode_cursor
from tests.authz import (
    API,
    Trader,
    World,
    add_api_keys,
    add_bots,
    balances,
    call,
    place,
    register,
    state_of,
)
from tests.polling import wait_for as wait_until
from tests.stack import start_stack

SHARED_CID = "both-users-send-this-id"
# Routes anyone may call; none names a user's order, bot, balance or fill.
PUBLIC = {"POST /api/v1/users", "POST /api/v1/sessions", "GET /api/v1/symbols", "GET /api/v1/healthz",
          "GET /api/v1/book/<symbol>", "GET /api/v1/book/<symbol>/hash", "GET /api/v1/ticker/<symbol>",
          "GET /api/v1/trades/<symbol>", "GET /api/v1/candles/<symbol>", "GET /api/v1/stats",
          "GET /api/v1/openapi.json",
          "GET /static/<path:filename>"}
OPTIONAL_TOKEN = {"GET /api/v1/leaderboard"}  # public, and the caller's own row with a token
NEUTRAL_ARGUMENTS = {"symbol": "PUPS"}  # path arguments that name no user's object
PROBE_BODIES = {"PATCH": {"quantity": 1}}  # a body valid enough to reach the ownership check
WAIT_S = 20

SWEPT: dict[str, str] = {}  # "METHOD /rule" -> the test that sweeps it


def sweeps(*routes: str):
    """Marks a test as the sweep of routes that take no id (those with one are probed generically)."""
    def mark(test):
        for route in routes:
            SWEPT[route] = test.__name__
        return test
    return mark


@pytest.fixture(scope="module")
def stack():
    env = {"RATE_LIMIT": "", "LEADERBOARD_MAX_AGE_S": "1"}
    with start_stack(replicas=1, workers=("matcher", "ledger-worker"), env=env) as running:
        yield running


@pytest.fixture
def routes(app) -> dict[str, str]:
    """"METHOD /rule" -> rule, from the URL map of the API app (conftest's, on the tests' own stores)."""
    return {f"{method} {rule.rule}": rule.rule for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})}


@pytest.fixture(scope="module")
def world(stack) -> World:
    """Bob has an open, a filled and a canceled order, a waiting and a stopped bot, and a fill
    (alice bought his PUPS); alice has the other side of that fill and bots of her own."""
    alice, bob = register(stack, "alice"), register(stack, "bob")
    bob.orders["open"] = place(stack, bob, symbol="KRYP", side="buy", price="2.00", quantity=50,
                               client_order_id=SHARED_CID)["order_id"]
    bob.orders["filled"] = place(stack, bob, symbol="PUPS", side="sell", price="5.00", quantity=2)["order_id"]
    bought = place(stack, alice, symbol="PUPS", side="buy", price="5.00", quantity=2)
    assert bought["status"] == "filled"
    alice.orders["filled"] = bought["order_id"]
    canceled = place(stack, bob, symbol="ADAM", side="sell", price="50.00", quantity=1)["order_id"]
    assert call(stack, "DELETE /api/v1/orders/<order_id>", bob, order_id=canceled).status_code == 200
    bob.orders["canceled"] = canceled
    add_bots(stack, alice)
    add_bots(stack, bob)
    add_api_keys(stack, alice)
    add_api_keys(stack, bob)
    # Settled in both stores: the trade in each side's fills, the cancel's hold released.
    wait_until(lambda: balances(stack, bob)["PUPS"] == {"available": 98, "on_hold": 0}
               and balances(stack, bob)["ADAM"]["on_hold"] == 0
               and all(call(stack, "GET /api/v1/fills", t).json()["fills"] for t in (alice, bob)), "settlement")
    return World(alice, bob)


def id_arguments(rule: str) -> list[str]:
    return [name for name in re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule) if name not in NEUTRAL_ARGUMENTS]


def probe_values(world: World, argument: str) -> dict[str, list[str]]:
    """The other user's values of a path argument, the caller's own (none that a probe would
    change), and one that names nothing."""
    alice, bob = world.alice, world.bob
    table = {
        "order_id": {"other": list(bob.orders.values()), "own": [alice.orders["filled"]],
                     "ghost": [new_order_id("PUPS", int(time.time() * 1000))]},
        "bot_id": {"other": list(bob.bots.values()), "own": [alice.bots["stopped"]], "ghost": [uuid.uuid4().hex]},
        "user_id": {"other": [bob.user_id], "own": [alice.user_id], "ghost": [uuid.uuid4().hex]},
        "key_id": {"other": list(bob.api_keys.values()), "own": [alice.api_keys["spare"]],
                   "ghost": [f"k_{uuid.uuid4().hex[:24]}"]},
    }
    if argument not in table:
        pytest.fail(f"no probe values for <{argument}>: add the other user's, the caller's own and a "
                    f"missing one to probe_values, or list it in NEUTRAL_ARGUMENTS if it names no user's object")
    return table[argument]


def answer(response: requests.Response) -> tuple[int, str | None]:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return response.status_code, (body.get("error") or {}).get("code")


def assert_refused(response: requests.Response, world: World) -> None:
    assert response.status_code in (403, 404), (response.request.method, response.request.url, response.text)
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and error["code"] and error["message"]
    assert world.bob.username not in response.text


def test_every_route_is_public_probed_by_id_or_swept(routes):
    unswept = [route for route in routes
               if route not in PUBLIC | SWEPT.keys() and not id_arguments(routes[route])]
    assert unswept == [], "routes no test sweeps: probe their ids or mark a test with @sweeps"
    for route in PUBLIC & routes.keys():  # Flask's own static route lives outside the API
        assert not (routes[route].startswith(API) and id_arguments(routes[route])), f"{route} is public"
    assert (PUBLIC | SWEPT.keys()) - routes.keys() == set(), "stale entries: these routes no longer exist"


def test_every_route_naming_an_id_refuses_the_other_users_object_as_if_it_did_not_exist(stack, routes, world):
    probed = [route for route in routes if route.split(" ", 1)[1].startswith(API) and id_arguments(routes[route])]
    assert {"GET /api/v1/orders/<order_id>", "DELETE /api/v1/bots/<bot_id>",
            "GET /api/v1/holdings/<symbol>/<user_id>"} <= set(probed)
    before = state_of(stack, world.bob)
    for route in probed:
        arguments = id_arguments(routes[route])
        values = {name: probe_values(world, name) for name in arguments}
        body = PROBE_BODIES.get(route.split(" ", 1)[0])

        def send(path: dict, route=route, body=body) -> requests.Response:
            return call(stack, route, world.alice, json=body, **NEUTRAL_ARGUMENTS, **path)

        ghost = send({name: values[name]["ghost"][0] for name in arguments})
        assert_refused(ghost, world)
        own = send({name: values[name]["own"][0] for name in arguments})
        # The caller's own object resolves: the refusal below is about whose object it is.
        assert answer(own) != answer(ghost), (route, own.text)
        for combination in itertools.product(*(values[name]["other"] for name in arguments)):
            refused = send(dict(zip(arguments, combination)))
            assert_refused(refused, world)
            assert answer(refused) == answer(ghost), (route, combination)
    assert state_of(stack, world.bob) == before


def test_private_routes_refuse_a_missing_forged_or_user_id_token(stack, routes, world):
    private = [route for route in routes if route not in PUBLIC | OPTIONAL_TOKEN]
    path = {"order_id": world.bob.orders["open"], "bot_id": world.bob.bots["waiting"],
            "user_id": world.bob.user_id, "key_id": world.bob.api_keys["kept"], **NEUTRAL_ARGUMENTS}
    for route, authorization in itertools.product(private, [None, "Bearer forged", f"Bearer {world.bob.user_id}"]):
        headers = {"Authorization": authorization} if authorization else {}
        refused = call(stack, route, headers=headers, json=PROBE_BODIES.get(route.split(" ", 1)[0]), **path)
        assert refused.status_code == 401 and refused.json()["error"]["code"], (route, authorization, refused.text)


def test_public_routes_name_no_user_order_or_bot(stack, routes, world):
    secrets = [world.alice.username, world.alice.user_id, world.bob.username, world.bob.user_id,
               *world.alice.orders.values(), *world.bob.orders.values(),
               *world.alice.bots.values(), *world.bob.bots.values()]
    for route in sorted(PUBLIC):
        if route.startswith("GET /api/"):
            shown = call(stack, route, **NEUTRAL_ARGUMENTS)
            # A minute of trades is too little for statistics: the refusal is public too.
            too_little = route == "GET /api/v1/stats" and shown.status_code == 422
            assert shown.status_code == 200 or too_little, (route, shown.text)
            assert [s for s in secrets if s in shown.text] == [], route
    assert call(stack, "GET /api/v1/trades/<symbol>", symbol="PUPS").json()["trades"]  # their trade is there


@sweeps("DELETE /api/v1/orders")
def test_cancel_all_cancels_the_callers_open_orders_and_none_of_the_other_users(stack, world):
    before = state_of(stack, world.bob)
    for query, symbols in (("", ("KRYP", "ADAM")), ("?symbol=KRYP", ("KRYP",))):
        mine = {place(stack, world.alice, symbol=symbol, side="sell", price="95.00", quantity=1)["order_id"]
                for symbol in symbols}
        canceled = requests.delete(f"{stack.base_url}{API}/orders{query}", headers=world.alice.headers, timeout=15)
        assert canceled.status_code == 200, canceled.text
        ids = {order["order_id"] for order in canceled.json()["canceled"]}
        assert mine <= ids and ids.isdisjoint(world.bob.orders.values()), query
        for order_id in ids:  # each one alice's own
            mine_now = call(stack, "GET /api/v1/orders/<order_id>", world.alice, order_id=order_id)
            assert mine_now.json()["status"] == "canceled", mine_now.text
    assert state_of(stack, world.bob) == before
    assert before[world.bob.orders["open"]]["status"] == "new"


@sweeps("GET /api/v1/orders", "GET /api/v1/fills", "GET /api/v1/fills.csv")
def test_order_lists_and_fills_show_only_the_callers_own(stack, world):
    alice, bob = world.alice, world.bob
    for query in ("?status=all", "?status=open", "?status=all&symbol=PUPS", f"?status=all&user_id={bob.user_id}"):
        listed = requests.get(f"{stack.base_url}{API}/orders{query}", headers=alice.headers, timeout=15).json()
        ids = {order["order_id"] for order in listed["orders"]}
        assert ids.isdisjoint(bob.orders.values()), query
        for order_id in ids:
            assert call(stack, "GET /api/v1/orders/<order_id>", alice, order_id=order_id).status_code == 200
    everything = requests.get(f"{stack.base_url}{API}/orders?status=all", headers=alice.headers, timeout=15)
    assert alice.orders["filled"] in {order["order_id"] for order in everything.json()["orders"]}
    # A cursor that points just past one of bob's orders still pages alice's alone.
    bobs = call(stack, "GET /api/v1/orders/<order_id>", bob, order_id=bob.orders["open"]).json()
    cursor = encode_cursor((bobs["created_at"] + 1, bobs["order_id"]))
    paged = requests.get(f"{stack.base_url}{API}/orders", params={"status": "all", "cursor": cursor},
                         headers=alice.headers, timeout=15).json()["orders"]
    assert {order["order_id"] for order in paged}.isdisjoint(bob.orders.values())

    for query in ("", "?symbol=PUPS", f"?user_id={bob.user_id}"):
        fills = requests.get(f"{stack.base_url}{API}/fills{query}", headers=alice.headers, timeout=15).json()["fills"]
        # Their one trade, from alice's side only.
        assert [(f["order_id"], f["side"], f["quantity"]) for f in fills] == [(alice.orders["filled"], "buy", 2)]
    bob_fills = call(stack, "GET /api/v1/fills", bob).json()["fills"]
    assert [(f["order_id"], f["side"]) for f in bob_fills] == [(bob.orders["filled"], "sell")]
    assert bob_fills[0]["trade_id"] == fills[0]["trade_id"]
    for query in ("", f"?user_id={bob.user_id}"):
        exported = requests.get(f"{stack.base_url}{API}/fills.csv{query}", headers=alice.headers, timeout=15)
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["order_id"], r["side"], r["user_id"]) for r in rows] == [(alice.orders["filled"], "buy",
                                                                             alice.user_id)], query


@sweeps("GET /api/v1/account")
def test_the_account_is_always_the_callers_own(stack, world):
    alice, bob = world.alice, world.bob
    for query in ("", f"?user_id={bob.user_id}"):
        account = requests.get(f"{stack.base_url}{API}/account{query}", headers=alice.headers, timeout=15).json()
        assert account["user_id"] == alice.user_id and account["balances"]["PUPS"]["available"] == 102
    assert balances(stack, bob)["PUPS"]["available"] == 98


@sweeps("GET /api/v1/bots", "POST /api/v1/bots")
def test_bot_lists_show_only_the_callers_bots_whatever_the_cursor(stack, world):
    alice, bob = world.alice, world.bob
    for who in (alice, bob):
        listed = call(stack, "GET /api/v1/bots", who).json()["bots"]
        assert {bot["bot_id"] for bot in listed} == set(who.bots.values())
    bobs = call(stack, "GET /api/v1/bots/<bot_id>", bob, bot_id=bob.bots["stopped"]).json()
    # A cursor that points into bob's bots still pages alice's alone.
    cursor = encode_cursor((bobs["created"] + 1, bobs["bot_id"]))
    for query in (f"?cursor={cursor}", f"?user_id={bob.user_id}", f"?owner_id={bob.user_id}"):
        page = requests.get(f"{stack.base_url}{API}/bots{query}", headers=alice.headers, timeout=15)
        assert page.status_code == 200, page.text
        assert {bot["bot_id"] for bot in page.json()["bots"]} <= set(alice.bots.values()), query


@sweeps("POST /api/v1/orders")
def test_a_client_order_id_the_other_user_used_places_a_new_order_of_the_callers_own(stack, world):
    alice, bob = world.alice, world.bob
    before = state_of(stack, bob)
    order = {"symbol": "KRYP", "side": "buy", "type": "limit", "price": "1.50", "quantity": 1,
             "client_order_id": SHARED_CID}
    first = call(stack, "POST /api/v1/orders", alice, json=order)
    assert first.status_code == 201, first.text
    mine = first.json()
    assert mine["order_id"] != bob.orders["open"]
    assert (mine["client_order_id"], mine["price"], mine["quantity"], mine["status"]) == (SHARED_CID, "1.50", 1, "new")
    again = call(stack, "POST /api/v1/orders", alice, json=order)
    assert again.status_code == 200 and again.json()["order_id"] == mine["order_id"]
    bobs_repeat = call(stack, "POST /api/v1/orders", bob, json={**order, "price": "2.00", "quantity": 50})
    assert bobs_repeat.status_code == 200 and bobs_repeat.json()["order_id"] == bob.orders["open"]
    assert call(stack, "GET /api/v1/orders/<order_id>", bob, order_id=mine["order_id"]).status_code == 404
    assert state_of(stack, bob) == before


@sweeps("POST /api/v1/orders/batch")
def test_a_batch_places_the_callers_own_orders_whatever_client_order_ids_it_repeats(stack, world):
    alice, bob = world.alice, world.bob
    before = state_of(stack, bob)
    order = {"symbol": "KRYP", "side": "buy", "type": "limit", "price": "1.25", "quantity": 1}
    batch = {"orders": [{**order, "client_order_id": SHARED_CID}, order]}
    answers = call(stack, "POST /api/v1/orders/batch", alice, json=batch).json()["orders"]
    assert [answer["status"] for answer in answers] == ["new", "new"]  # with the id: alice's own, new or earlier
    assert bob.orders["open"] not in {answer["order_id"] for answer in answers}
    for answer in answers:
        assert call(stack, "GET /api/v1/orders/<order_id>", bob, order_id=answer["order_id"]).status_code == 404
    bobs = call(stack, "POST /api/v1/orders/batch", bob, json={"orders": [{**order, "client_order_id": SHARED_CID}]})
    assert bobs.status_code == 200 and bobs.json()["orders"][0]["order_id"] == bob.orders["open"]
    assert state_of(stack, bob) == before


@sweeps("GET /api/v1/leaderboard")
def test_the_leaderboard_shows_cash_and_shares_only_in_the_callers_own_row(stack, world):
    alice, bob = world.alice, world.bob
    url = f"{stack.base_url}{API}/leaderboard"

    def board(headers: dict) -> dict | None:
        shown = requests.get(url, headers=headers, timeout=15).json()
        names = {row["username"] for row in shown["leaderboard"]}
        return shown if {alice.username, bob.username} <= names else None

    signed_in = wait_until(lambda: board(alice.headers), "both users on the leaderboard")
    rows = {row["username"]: row for row in signed_in["leaderboard"]}
    public = {"rank", "username", "house", "value", "pnl"}
    assert set(rows[bob.username]) == public and set(rows[alice.username]) == public | {"cash", "shares"}
    assert signed_in["me"]["username"] == alice.username and signed_in["me"]["shares"]["PUPS"] == 102
    for headers in ({}, {"Authorization": f"Bearer {bob.user_id}"}, {"Authorization": "Bearer forged"}):
        anonymous = board(headers)
        assert anonymous["me"] is None and all(set(row) == public for row in anonymous["leaderboard"])


@sweeps("GET /api/v1/api-keys", "POST /api/v1/api-keys")
def test_api_key_lists_show_only_the_callers_keys_and_a_new_key_is_the_callers_own(stack, world):
    alice, bob = world.alice, world.bob
    before = state_of(stack, bob)
    for who in (alice, bob):
        listed = {key["key_id"] for key in call(stack, "GET /api/v1/api-keys", who).json()["api_keys"]}
        assert listed >= {who.api_keys["kept"]} and not listed & set((bob if who is alice else alice).api_keys.values())
    for query in (f"?user_id={bob.user_id}", f"?owner={bob.user_id}"):
        page = requests.get(f"{stack.base_url}{API}/api-keys{query}", headers=alice.headers, timeout=15).json()
        assert not {key["key_id"] for key in page["api_keys"]} & set(bob.api_keys.values()), query
    made = call(stack, "POST /api/v1/api-keys", alice, json={"scopes": ["read"], "user_id": bob.user_id})
    assert made.status_code == 400  # no field names another user
    assert state_of(stack, bob) == before


@sweeps("DELETE /api/v1/sessions")
def test_a_logout_revokes_only_the_token_it_was_sent_with(stack, world):
    alice, bob = world.alice, world.bob
    login = call(stack, "POST /api/v1/sessions", json={"username": alice.username, "password": "correct horse"})
    second = Trader(alice.username, alice.user_id, login.json()["token"])
    assert call(stack, "DELETE /api/v1/sessions", second).status_code == 204
    assert call(stack, "GET /api/v1/account", second).status_code == 401
    for who in (alice, bob):
        assert call(stack, "GET /api/v1/account", who).status_code == 200
