"""Rule bots on a real stack: the runner (`python -m bots.runner`, started by the stack like `make up` does)
fires a stored rule when another user trades the price through its threshold, then its chained step;
orders appear under the owner; DELETE stops a bot for good; refused orders and runaway rules are contained."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import redis

from bots.runner.budget import ActionBudget
from devstack import programs
from devstack.procs import Proc
from exchange_client import ApiError, ExchangeClient
from tests.polling import wait_for
from tests.stack import start_stack

ACTIONS_PER_MINUTE = 4


@pytest.fixture(scope="module")
def stack():
    env = {"BOT_RUNNER_INTERVAL_MS": "50", "BOT_ACTIONS_PER_MINUTE": str(ACTIONS_PER_MINUTE)}
    with start_stack(replicas=1, env=env) as running:
        # a second runner replica: a step must still fire once
        running.workers.append(Proc(programs.worker_command("bots.runner"), log_dir=running.work_dir / "logs",
                                    name="bot-runner-2", env={"REDIS_URL": running.redis_url,
                                                              "MONGO_URL": running.mongo_url,
                                                              "EXCHANGE_PORT": running.base_url.rsplit(":", 1)[1],
                                                              "PYTHONUNBUFFERED": "1", **env}))
        yield running


def user(stack, name: str) -> ExchangeClient:
    api = ExchangeClient(stack.base_url)
    api.register(name, "correct horse battery")
    return api


def trade(seller: ExchangeClient, buyer: ExchangeClient, symbol: str, price: str, quantity: int = 1) -> None:
    seller.place_order(symbol, "sell", quantity, price=price)
    order = buyer.place_order(symbol, "buy", quantity, price=price)
    assert order["filled_quantity"] == quantity, order


def runner_passes(stack, count: int = 10) -> None:
    """Let both runners look at every bot several times (each pass is BOT_RUNNER_INTERVAL_MS apart)."""
    time.sleep(count * 0.05 + 0.5)


def fired_lines(stack, bot_id: str) -> list[str]:
    """The runners' "bot <id> step <n> fired" log messages (their logs are JSON lines)."""
    lines = []
    for proc in stack.workers:
        if proc.name.startswith("bot-runner"):
            messages = [json.loads(line).get("message", "") for line in proc.log_path.read_text().splitlines()
                        if line.startswith("{")]
            lines += [m for m in messages if m.startswith(f"bot {bot_id} step") and m.endswith("fired")]
    return lines


def test_a_rule_fires_when_the_price_crosses_then_its_chained_step(stack):
    alice, bob, carol = user(stack, "alice"), user(stack, "bob"), user(stack, "carol")
    bot = alice.create_bot({
        "$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 20.55, "type": "gte"}},
        "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 20.60, "shares": 5}},
        "$then": {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 21.00, "type": "gte"}},
                  "$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": 25.00, "shares": 5}}},
    }, name="seed rule")
    bot_id = bot["bot_id"]

    trade(bob, carol, "KRYP", "20.00")  # below the threshold
    runner_passes(stack)
    assert alice.bot(bot_id)["status"] == "waiting" and alice.open_orders() == []

    trade(bob, carol, "KRYP", "20.55")  # through it
    fired = wait_for(lambda: (b := alice.bot(bot_id))["step"] == 1 and b, what="the first step to fire")
    assert fired["status"] == "waiting" and fired["actions_taken"] == 1
    first = fired["last_action"]
    assert first["step"] == 0 and first["action"]["side"] == "buy" and first["action"]["price"] == "20.60"
    (buy,) = alice.open_orders("KRYP")
    assert buy["order_id"] == first["result"]["order_id"] and buy["client_order_id"] == f"bot.{bot_id}.0.0"
    assert (buy["side"], buy["price"], buy["quantity"]) == ("buy", "20.60", 5)

    runner_passes(stack)  # 20.55 < 21.00: the chained step waits
    assert alice.bot(bot_id)["step"] == 1 and len(alice.open_orders()) == 1

    trade(bob, carol, "KRYP", "21.00")
    done = wait_for(lambda: (b := alice.bot(bot_id))["status"] == "done" and b, what="the chained step")
    assert done["step"] == 1 and done["actions_taken"] == 2 and done["last_action"]["step"] == 1
    sell = alice.order(done["last_action"]["result"]["order_id"])
    assert (sell["side"], sell["price"], sell["quantity"], sell["status"]) == ("sell", "25.00", 5, "new")
    assert {o["order_id"] for o in alice.open_orders("KRYP")} == {buy["order_id"], sell["order_id"]}
    assert bob.open_orders() == [] and carol.open_orders() == []

    runner_passes(stack)
    assert len(fired_lines(stack, bot_id)) == 2  # one fire per step across both runner replicas
    assert len(alice.open_orders()) == 2


def test_a_rule_places_a_stop_that_a_later_trade_triggers(stack):
    alice, bob, carol = user(stack, "stop_alice"), user(stack, "stop_bob"), user(stack, "stop_carol")
    # PUPS stays under 5.00 here: test_python_m_bots_run_runs_a_rule_until_done waits for it to reach that.
    trade(bob, carol, "PUPS", "3.00")
    bot = alice.create_bot({
        "$when": {"$comparison": {"itemA": {"$ticker": "PUPS"}, "itemB": 3.00, "type": "gte"}},
        "$do": {"$order": {"kind": "STOP", "intent": "SELL", "stop": 2.90, "shares": 2}},
    }, name="protective stop")
    done = wait_for(lambda: (b := alice.bot(bot["bot_id"]))["status"] == "done" and b, what="the stop to be placed")
    assert done["last_action"]["action"]["stop_price"] == "2.90"
    (stop,) = alice.open_orders("PUPS")
    assert (stop["order_id"], stop["type"], stop["stop_price"], stop["status"]) == (
        done["last_action"]["result"]["order_id"], "stop", "2.90", "untriggered")
    carol.place_order("PUPS", "buy", 2, price="2.88")  # what the stop will sell to
    trade(bob, carol, "PUPS", "2.90")  # reaches the stop price
    sold = alice.order(stop["order_id"])
    assert (sold["status"], [(f["price"], f["quantity"]) for f in sold["fills"]]) == ("filled", [("2.88", 2)])


def test_delete_stops_a_bot_and_only_its_owner_sees_it(stack):
    alice, bob, carol, mallory = (user(stack, n) for n in ("alice2", "bob2", "carol2", "mallory"))
    bot_id = alice.create_bot({
        "$when": {"$comparison": {"itemA": {"$ticker": "ADAM"}, "itemB": "30.00", "type": "gte"}},
        "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": "1.00", "shares": 1}}})["bot_id"]
    assert mallory.bots() == []
    for attempt in (mallory.bot, mallory.stop_bot):
        with pytest.raises(ApiError) as refused:
            attempt(bot_id)
        assert refused.value.status == 404 and refused.value.code == "not_found"
    assert alice.bot(bot_id)["status"] == "waiting"

    assert alice.stop_bot(bot_id)["status"] == "stopped"
    trade(bob, carol, "ADAM", "30.00")
    runner_passes(stack)
    stopped = alice.bot(bot_id)
    assert stopped["status"] == "stopped" and stopped["actions_taken"] == 0 and stopped["last_action"] is None
    assert alice.open_orders() == [] and fired_lines(stack, bot_id) == []


def test_a_refused_order_puts_the_bot_in_error(stack):
    alice = user(stack, "alice3")
    bot_id = alice.create_bot({"$do": [
        {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.00, "shares": 1, "symbol": "PUPS"}},
        {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1000.00, "shares": 1000, "symbol": "PUPS"}},
        {"$cancelAll": {}}]})["bot_id"]
    failed = wait_for(lambda: (b := alice.bot(bot_id))["status"] == "error" and b, what="the bot to fail")
    assert failed["actions_taken"] == 1
    error = failed["last_action"]
    assert error["index"] == 1 and error["error"]["code"] == "insufficient_funds" and error["error"]["status"] == 422
    runner_passes(stack)
    (kept,) = alice.open_orders()  # the first order stays; the cancel after the refused one never ran
    assert kept["price"] == "1.00" and alice.bot(bot_id)["status"] == "error"


def test_a_runaway_rule_is_capped_per_minute(stack):
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60 + 0.5)  # all within one clock minute of the cap
    minute = int(time.time()) // 60
    alice = user(stack, "alice4")
    bot_id = alice.create_bot({"$do": [{"$cancelAll": {"symbol": "KRYP"}}] * 10})["bot_id"]
    capped = wait_for(lambda: (b := alice.bot(bot_id))["actions_taken"] >= ACTIONS_PER_MINUTE and b,
                      what="the bot to use its budget")
    runner_passes(stack)
    assert int(time.time()) // 60 == minute, "the test crossed a minute boundary"
    capped = alice.bot(bot_id)
    assert capped["status"] == "fired" and capped["actions_taken"] == ACTIONS_PER_MINUTE
    assert capped["last_action"]["index"] == ACTIONS_PER_MINUTE - 1
    assert alice.stop_bot(bot_id)["status"] == "stopped"


def test_the_action_budget_counts_per_bot_and_minute(stack):
    client = redis.Redis.from_url(stack.redis_url)
    budget = ActionBudget(client, per_minute=3)
    assert [budget.take("b1") for _ in range(5)] == [True, True, True, False, False]
    assert budget.take("b2")
    client.close()


def run_locally(stack, tmp_path, rule_text: str, username: str) -> subprocess.Popen:
    path = tmp_path / "rule.json"
    path.write_text(rule_text)
    return subprocess.Popen([sys.executable, "-m", "bots", "run", str(path), "--url", stack.base_url,
                             "--username", username, "--password", "correct horse battery", "--interval", "0.05"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=programs.ROOT)


def test_python_m_bots_run_runs_a_rule_until_done(stack, tmp_path):
    dave, bob, carol = user(stack, "dave"), user(stack, "bob5"), user(stack, "carol5")
    process = run_locally(stack, tmp_path, """{
        "$when": {"$comparison": {"itemA": {"$ticker": "PUPS"}, "itemB": 5.00, "type": "gte"}},
        "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 4.10, "shares": 2}},
        "$then": {"$do": {"$cancelAll": {"symbol": "PUPS"}}}}""", "dave")
    try:
        time.sleep(2.0)  # it signs in and waits: PUPS has not traded at 5.00
        assert process.poll() is None and dave.open_orders() == []
        trade(bob, carol, "PUPS", "5.00")
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        process.communicate()  # reap it and close its pipe, whatever failed above
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert "step 1/2: fired" in lines and "step 2/2: fired" in lines and lines[-1] == "done", output
    (order,) = dave.request("GET", "/orders", params={"status": "all"})["orders"]
    assert (order["side"], order["price"], order["quantity"], order["status"]) == ("buy", "4.10", 2, "canceled")
    assert order["client_order_id"].startswith("rule.")


def test_python_m_bots_run_refuses_an_invalid_rule_with_its_path(stack, tmp_path):
    user(stack, "erin")
    process = run_locally(stack, tmp_path, '{"$do": {"$order": {"kind": "LIMIT", "intent": "BUY", '
                                           '"bid": 4.105, "shares": 2, "symbol": "PUPS"}}}', "erin")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "invalid rule: $.$do.$order.bid: 4.105 has more than 2 decimals" in output


def test_a_runner_takes_over_a_step_whose_runner_died_and_places_nothing_twice(stack):
    """A runner died mid-step: it had placed action 0 (its order is on the book) but not recorded it.
    Another runner takes the stale claim over, places action 0 again (same client_order_id: the
    same order comes back), then action 1, and finishes."""
    from pymongo import MongoClient

    from exchange import mongo

    alice = user(stack, "alice6")
    bot_id = alice.create_bot({
        "$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 999, "type": "gte"}},  # never, by itself
        "$do": [{"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.01, "shares": 1}},
                {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.02, "shares": 1}}]})["bot_id"]
    placed = alice.place_order("KRYP", "buy", 1, price="1.01", client_order_id=f"bot.{bot_id}.0.0")
    stale = int(time.time() * 1000) - 60_000
    with MongoClient(stack.mongo_url) as client:
        client["exchange"][mongo.BOTS].update_one(
            {"_id": bot_id}, {"$set": {"status": "fired", "claim": "a-runner-that-died", "updated": stale}})

    done = wait_for(lambda: (b := alice.bot(bot_id))["status"] == "done" and b, what="the takeover")
    assert done["actions_taken"] == 2 and done["last_action"]["index"] == 1
    orders = alice.open_orders("KRYP")
    assert sorted((o["price"], o["client_order_id"]) for o in orders) == [
        ("1.01", f"bot.{bot_id}.0.0"), ("1.02", f"bot.{bot_id}.0.1")]
    assert placed["order_id"] in {o["order_id"] for o in orders}
    logs = "".join(p.log_path.read_text() for p in stack.workers if p.name.startswith("bot-runner"))
    assert logs.count(f"bot {bot_id}: took over step 0") == 1


def test_which_refusals_are_retried():
    from bots.runner.actions import is_transient

    retried = [ApiError(0, "connection_error", ""), ApiError(429, "rate_limited", ""), ApiError(503, "busy", ""),
               ApiError(502, "http_502", ""), ApiError(401, "invalid_token", "")]
    final = [ApiError(422, "insufficient_funds", ""), ApiError(422, "no_liquidity", ""),
             ApiError(400, "invalid_price", ""), ApiError(403, "no_account", "")]
    assert all(map(is_transient, retried)) and not any(map(is_transient, final))
