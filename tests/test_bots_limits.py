"""Rule-bot limits against a real multi-process API: the active-bot cap holds under
concurrent creations, and GET /bots is paged."""
from __future__ import annotations

import threading
import uuid

import pytest
import requests

from bots.store import ORPHAN_SLOT_MS, BotStore, TooManyBots, now_ms
from exchange import mongo
from exchange_client import ExchangeClient
from tests.stack import start_stack

MAX_ACTIVE = 3
RULE = {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 1, "type": "lt"}},
        "$do": {"$cancelAll": {}}}


@pytest.fixture(scope="module")
def stack():
    # Two API replicas of two worker processes each; no rate limits, so every request reaches the store.
    env = {"BOT_MAX_ACTIVE": str(MAX_ACTIVE), "RATE_LIMIT": "", "REGISTRATION_RATE_LIMIT": "",
           "API_WORKERS": "2", "API_THREADS": "8"}
    with start_stack(replicas=2, workers=False, env=env) as running:
        yield running


def register(stack, username: str) -> dict:
    response = requests.post(f"{stack.base_url}/api/v1/users",
                             json={"username": username, "password": "correct horse battery"}, timeout=30)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def create_concurrently(stack, headers: dict, count: int) -> list[requests.Response]:
    """``count`` POST /bots released at one moment, each from its own thread and connection."""
    start = threading.Barrier(count)
    responses: list[requests.Response] = []

    def create() -> None:
        with requests.Session() as session:
            start.wait()
            responses.append(session.post(f"{stack.base_url}/api/v1/bots", json={"rule": RULE},
                                          headers=headers, timeout=60))

    threads = [threading.Thread(target=create) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def active_bots(stack, headers: dict) -> list[dict]:
    listed = requests.get(f"{stack.base_url}/api/v1/bots", params={"limit": 200}, headers=headers, timeout=30)
    return [bot for bot in listed.json()["bots"] if bot["status"] in ("waiting", "fired")]


def test_concurrent_creations_never_exceed_the_active_cap(stack):
    headers = register(stack, "racer")
    for _round in range(3):
        responses = create_concurrently(stack, headers, 24)
        statuses = sorted(response.status_code for response in responses)
        created = [response.json() for response in responses if response.status_code == 201]
        assert len(active_bots(stack, headers)) == MAX_ACTIVE, statuses
        assert statuses.count(201) + statuses.count(409) == len(statuses), statuses
        refused = [response.json()["error"]["code"] for response in responses if response.status_code == 409]
        assert set(refused) <= {"too_many_bots"}
        for bot in created:  # a stopped bot frees its place for the next round
            requests.delete(f"{stack.base_url}/api/v1/bots/{bot['bot_id']}", headers=headers, timeout=30)
        assert active_bots(stack, headers) == []


def test_bots_are_listed_newest_first_a_page_at_a_time(stack):
    headers = register(stack, "pager")
    made = []
    for number in range(MAX_ACTIVE + 4):  # stopping each keeps the owner under the cap
        bot = requests.post(f"{stack.base_url}/api/v1/bots", json={"rule": RULE, "name": f"b{number}"},
                            headers=headers, timeout=30).json()
        requests.delete(f"{stack.base_url}/api/v1/bots/{bot['bot_id']}", headers=headers, timeout=30)
        made.append(bot["bot_id"])
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{stack.base_url}/api/v1/bots", params=params, headers=headers, timeout=30).json()
        pages.append([bot["bot_id"] for bot in page["bots"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(ids) for ids in pages] == [3, 3, 1]
    assert [bot_id for ids in pages for bot_id in ids] == made[::-1]
    default = requests.get(f"{stack.base_url}/api/v1/bots", headers=headers, timeout=30).json()
    assert len(default["bots"]) == len(made) and default["next_cursor"] is None
    client = ExchangeClient(stack.base_url, token=headers["Authorization"].removeprefix("Bearer "))
    with client.session:
        assert client.bots(page_size=2) == client.bots() == default["bots"]  # every page


@pytest.mark.parametrize("params", [{"cursor": "nope"}, {"cursor": "①"}, {"cursor": ""}, {"cursor": "x" * 201},
                                    {"limit": "0"}, {"limit": "201"}, {"limit": "²"}])
def test_a_bad_page_request_is_an_invalid_parameter(stack, params):
    headers = register(stack, f"badpage-{uuid.uuid4().hex[:8]}")
    response = requests.get(f"{stack.base_url}/api/v1/bots", params=params, headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and error["message"].startswith(next(iter(params)))


@pytest.fixture
def store(settings):
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    yield BotStore(db, max_active=2)
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


def test_a_finished_bot_frees_its_place_and_an_active_one_keeps_it(store):
    first, second = (store.create("alice", RULE, steps=1) for _ in range(2))
    with pytest.raises(TooManyBots):
        store.create("alice", RULE, steps=1)
    assert store.fire(first, claim="runner-1") and store.advance(first["_id"], 0, "runner-1", last_step=True)
    store.create("alice", RULE, steps=1)  # first is done: its place is free
    with pytest.raises(TooManyBots):
        store.create("alice", RULE, steps=1)
    assert store.get("alice", second["_id"])["status"] == "waiting"


def test_a_place_whose_bot_never_appeared_is_freed_only_once_it_is_old(store):
    slots = store.slots.slots
    slots.insert_many([{"_id": f"alice:{n}", "owner_id": "alice", "slot": n, "bot_id": f"{n:032x}",
                        "taken": now_ms()} for n in range(2)])  # two creations in flight
    with pytest.raises(TooManyBots):
        store.create("alice", RULE, steps=1)
    slots.update_one({"_id": "alice:1"}, {"$set": {"taken": now_ms() - ORPHAN_SLOT_MS - 1}})  # its creator died
    store.create("alice", RULE, steps=1)
    with pytest.raises(TooManyBots):
        store.create("alice", RULE, steps=1)
