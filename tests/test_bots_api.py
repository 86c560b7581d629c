"""The bots API: store, list, show, stop; only the owner sees a bot; bad input is a 4xx with a code and a path."""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from bots.rules import parse_rule
from bots.rules.model import Literal
from bots.store import BotStore, stored_rule
from exchange import mongo
from orderbook.app import create_app

RULE = {
    "$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 20.55, "type": "gte"}},
    "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 20.60, "shares": 100}},
    "$then": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 21.00, "type": "gte"}},
              "$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 20.90, "shares": 100}}},
}


def post_raw(client, headers, text: str):
    return client.post("/api/v1/bots", data=text, headers={**headers, "Content-Type": "application/json"})


def test_create_list_get_and_stop(client, register):
    alice = register("alice")
    created = client.post("/api/v1/bots", json={"name": "dip buyer", "rule": RULE}, headers=alice)
    assert created.status_code == 201, created.json
    bot = created.json
    assert bot["name"] == "dip buyer" and bot["status"] == "waiting" and bot["step"] == 0 and bot["steps"] == 2
    # Decimal numbers come back as decimal strings, digits as sent (no float on the way).
    assert bot["rule"] == json.loads(json.dumps(RULE), parse_float=str) and bot["last_action"] is None and isinstance(bot["created"], int)

    unnamed = client.post("/api/v1/bots", json={"rule": {"$do": {"$cancelAll": {}}}}, headers=alice).json
    assert unnamed["name"] == f"bot-{unnamed['bot_id'][:8]}"

    listed = client.get("/api/v1/bots", headers=alice).json
    assert [b["bot_id"] for b in listed["bots"]] == [unnamed["bot_id"], bot["bot_id"]]  # newest first
    assert listed["next_cursor"] is None
    assert client.get(f"/api/v1/bots/{bot['bot_id']}", headers=alice).json == bot

    stopped = client.delete(f"/api/v1/bots/{bot['bot_id']}", headers=alice)
    assert stopped.status_code == 200 and stopped.json["status"] == "stopped"
    assert client.get(f"/api/v1/bots/{bot['bot_id']}", headers=alice).json["status"] == "stopped"
    again = client.delete(f"/api/v1/bots/{bot['bot_id']}", headers=alice)
    assert again.status_code == 200 and again.json["status"] == "stopped"


def test_prices_keep_their_digits(client, register):
    alice = register("alice")
    text = ('{"rule": {"$when": {"$comparison": {"itemA": {"$bid": "ADAM"}, "itemB": 0.29, "type": "lt"}},'
            ' "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "price": 0.30, "shares": 3}}}}')
    created = post_raw(client, alice, text)
    assert created.status_code == 201, created.json
    assert created.json["rule"]["$when"]["$comparison"]["itemB"] == "0.29"
    assert created.json["rule"]["$do"]["$order"]["price"] == "0.30"
    shown = client.get(f"/api/v1/bots/{created.json['bot_id']}", headers=alice).json["rule"]
    assert parse_rule(shown, ["ADAM"]) == parse_rule(json.loads(text, parse_float=Decimal)["rule"], ["ADAM"])
    sub_cent = text.replace("0.29", "0.2900000000000000001")
    refused = post_raw(client, alice, sub_cent)
    assert refused.status_code == 400
    assert refused.json["error"]["message"].startswith("$.$when.$comparison.itemB: 0.2900000000000000001 has more")


def test_whole_cents_with_many_digits_are_stored_exactly(client, register, settings):
    alice = register("alice")
    price = "20.6" + "0" * 40  # whole cents, more digits than a Decimal128 holds
    text = ('{"rule": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 0, "type": "gt"}}, '
            '"$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": ' + price + ', "shares": 1}}}}')
    created = post_raw(client, alice, text)
    assert created.status_code == 201, created.json
    shown = client.get(f"/api/v1/bots/{created.json['bot_id']}", headers=alice).json["rule"]
    assert Decimal(shown["$do"]["$order"]["bid"]) == Decimal(price)
    step = parse_rule(shown, ["KRYP"])
    assert step.do[0].price == 2060 and step.when.right == Literal(0)
    stored = BotStore(mongo.database(settings.mongo_url, settings.mongo_db)).get(alice.user_id, created.json["bot_id"])
    assert parse_rule(stored_rule(stored), ["KRYP"]) == step  # what the runner compiles


def test_another_user_can_neither_see_nor_stop_a_bot(client, register):
    alice, mallory = register("alice"), register("mallory")
    bot_id = client.post("/api/v1/bots", json={"rule": RULE}, headers=alice).json["bot_id"]
    assert client.get("/api/v1/bots", headers=mallory).json["bots"] == []
    for method in (client.get, client.delete):
        response = method(f"/api/v1/bots/{bot_id}", headers=mallory)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/bots/{bot_id}", headers=alice).json["status"] == "waiting"
    assert client.get("/api/v1/bots/no-such-bot", headers=alice).status_code == 404


def test_bots_need_a_token(client):
    for response in (client.get("/api/v1/bots"), client.post("/api/v1/bots", json={"rule": RULE}),
                     client.get("/api/v1/bots/x"), client.delete("/api/v1/bots/x")):
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


BAD_BODIES = [
    ("[]", 400, "invalid_json", "the request body must be a JSON object"),
    ("{nope", 400, "invalid_json", "the request body must be a JSON object"),
    ("{}", 400, "missing_field", "rule: a bot needs a rule"),
    ('{"rule": {"$do": {"$cancelAll": {}}}, "name": "\\ud800"}', 400, "invalid_json",
     "the request body holds a lone surrogate"),
    ('{"rule": {"$do": {"$cancelAll": {}}, "\\udfff": 1}, "name": "x"}', 400, "invalid_json",
     "the request body holds a lone surrogate"),
    ('{"rule": {"$do": {"$cancelAll": {}}}, "owner": "x"}', 400, "unknown_field", "owner: unknown field"),
    ('{"rule": {"$do": {"$cancelAll": {}}}, "name": ""}', 400, "invalid_name", "name must be a string"),
    ('{"rule": {"$do": {"$cancelAll": {}}}, "name": 7}', 400, "invalid_name", "name must be a string"),
    ('{"rule": 5}', 400, "invalid_rule", "$: must be a rule object"),
    ('{"rule": {"$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1, "shares": 0, "symbol": "KRYP"}}}}',
     400, "invalid_rule", "$.$do.$order.shares: must be a positive integer"),
    ('{"rule": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 1, "type": "gte"}}, '
     '"$do": {"$cancelAll": {}}, "$then": {"$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 20.905, '
     '"shares": 1}}}}}', 400, "invalid_rule", "$.$then.$do.$order.ask: 20.905 has more than 2 decimals"),
    ('{"rule": {"$do": {"$order": {"kind": "MARKET", "intent": "SELL", "shares": 1}}}}', 400, "invalid_rule",
     "$.$do.$order: names no symbol"),
    ('{"rule": {"$do": {"$order": {"kind": "MARKET", "intent": "SELL", "shares": 1, "symbol": "GOLD"}}}}', 400,
     "invalid_rule", "$.$do.$order.symbol: unknown symbol 'GOLD'"),
    ('{"rule": {"$when": {"$comparison": {"itemA": NaN, "itemB": 1, "type": "gt"}}, "$do": {"$cancelAll": {}}}}',
     400, "invalid_rule", "$.$when.$comparison.itemA: must be a finite number"),
    ('{"rule": {"$when": {"$comparison": {"itemA": 1e999, "itemB": 1, "type": "gt"}}, "$do": {"$cancelAll": {}}}}',
     400, "invalid_rule", "$.$when.$comparison.itemA: 1E+999 is too large"),
    ('{"rule": {"$when": {"$comparison": {"itemA": 123456789012345678901234567890, "itemB": 1, "type": "gt"}}, '
     '"$do": {"$cancelAll": {}}}}', 400, "invalid_rule", "$.$when.$comparison.itemA: 1234567890"),
    ('{"rule": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 1.000000000000000000000000000001, '
     '"type": "gt"}}, "$do": {"$cancelAll": {}}}}', 400, "invalid_rule",
     "$.$when.$comparison.itemB: 1.000000000000000000000000000001 has more than 2 decimals"),
    ('{"rule": {"$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.0000000000000000000000000000000001, '
     '"shares": 1, "symbol": "KRYP"}}}}', 400, "invalid_rule",
     "$.$do.$order.bid: 1.0000000000000000000000000000000001 has more than 2 decimals"),
    ('{"rule": {"$when": {"$comparison": {"itemA": {"$position": "KRYP"}, "itemB": 3.0000000000000000000000000000000001, '
     '"type": "gt"}}, "$do": {"$cancelAll": {}}}}', 400, "invalid_rule",
     "$.$when.$comparison.itemB: 3.0000000000000000000000000000000001 is not a whole number of shares"),
    ('{"rule": {"$do": {"$cancelAll": {}}, "$when": {"$when": 1}}}', 400, "invalid_rule",
     "$.$when.$when: unknown key; expected one of $comparison, $and, $or"),
    ('{"rule": ' + '{"$and": [' * 40 + "1" + "]}" * 40 + "}", 400, "invalid_rule", "$.$and[0].$and[0].$and[0]"),
]


@pytest.mark.parametrize("text, status, code, message", BAD_BODIES, ids=[b[3][:40] for b in BAD_BODIES])
def test_bad_input_is_a_4xx_with_a_code_and_a_path(client, register, text, status, code, message):
    alice = register("alice")
    response = post_raw(client, alice, text)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"].startswith(message), response.json
    assert client.get("/api/v1/bots", headers=alice).json["bots"] == []


@pytest.mark.parametrize("text", ['{"rule": ' + "[" * 5000 + "]" * 5000 + "}", '{"a":' * 4000 + "1" + "}" * 4000],
                         ids=["lists", "objects"])
def test_a_deeply_nested_body_is_invalid_json(client, register, text):
    alice = register("alice")
    response = post_raw(client, alice, text)  # under MAX_BODY, but past the JSON decoder's recursion limit
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json", response.json
    assert client.get("/api/v1/bots", headers=alice).json["bots"] == []


def test_a_huge_body_is_refused(client, register):
    alice = register("alice")
    rule = {"$do": [{"$cancelAll": {}}], "pad": "x" * 40_000}
    response = post_raw(client, alice, json.dumps({"rule": rule}))
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"


def test_active_bots_per_user_are_limited(settings, redis_client):
    app = create_app(dataclasses.replace(settings, bot_max_active=2))
    client = app.test_client()
    headers = []
    for name in ("alice", "bob"):
        token = client.post("/api/v1/users", json={"username": name, "password": "pw-pw-pw"}).json["token"]
        headers.append({"Authorization": f"Bearer {token}"})
    alice, bob = headers
    first, second = (client.post("/api/v1/bots", json={"rule": RULE}, headers=alice).json for _ in range(2))
    third = client.post("/api/v1/bots", json={"rule": RULE}, headers=alice)
    assert third.status_code == 409 and third.json["error"]["code"] == "too_many_bots"
    assert client.post("/api/v1/bots", json={"rule": RULE}, headers=bob).status_code == 201  # per user
    client.delete(f"/api/v1/bots/{first['bot_id']}", headers=alice)  # a stopped bot no longer counts
    assert client.post("/api/v1/bots", json={"rule": RULE}, headers=alice).status_code == 201
    assert client.post("/api/v1/bots", json={"rule": RULE}, headers=alice).status_code == 409
    assert len(client.get("/api/v1/bots", headers=alice).json["bots"]) == 3
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


def test_openapi_lists_the_bot_and_leaderboard_paths(client):
    from tests.openapi_schemas import body_validator

    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert set(paths["/bots"]) == {"post", "get"} and set(paths["/bots/{bot_id}"]) == {"get", "delete"}
    assert "security" not in paths["/leaderboard"]["get"] and paths["/bots"]["get"]["security"]
    validator = body_validator(document, "/bots", "post")  # the rule schema, embedded with its $id, resolves its own $refs
    assert validator.is_valid({"rule": RULE, "name": "x"})
    assert not validator.is_valid({"rule": {**RULE, "$do": {"$order": {"kind": "LIMIT"}}}})


def test_a_rule_read_back_can_be_posted_again_even_from_exponent_literals(client, register):
    alice = register("alice")
    text = ('{"rule": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 1E+2, "type": "gte"}},'
            ' "$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 1.5E+2, "shares": 1}}}}')
    created = post_raw(client, alice, text)
    assert created.status_code == 201, created.json
    shown = created.json["rule"]
    assert shown["$when"]["$comparison"]["itemB"] == "100" and shown["$do"]["$order"]["ask"] == "150"
    again = client.post("/api/v1/bots", json={"rule": shown}, headers=alice)
    assert again.status_code == 201, again.json
    assert again.json["rule"] == shown
