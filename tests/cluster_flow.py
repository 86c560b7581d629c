"""A seeded order flow for the cluster tests (tests/test_cluster.py): limits, markets, IOC, FOK,
post-only, cancels, amends and self-trades on six symbols, from four submitters at once, and
what it left: every order's end, every fill, the books and the balances, keyed by client order
id and username so that two runs on two stores compare equal.

Each symbol's orders come from one submitter, in the seeded order, and nobody runs short of
cash or shares, so the outcome is the same however the submitters interleave.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import requests

from tests.polling import wait_for

SYMBOLS = ("KRYP", "ADAM", "PUPS", "GOLD", "OILS", "CORN")
USERS = tuple(f"trader{n}" for n in range(8))
SUBMITTERS = 4
ACTIONS_PER_SYMBOL = 40
PASSWORD = "correct horse battery"


@dataclass
class Run:
    base_url: str
    tokens: dict[str, dict] = field(default_factory=dict)  # username -> auth header
    order_ids: dict[str, str] = field(default_factory=dict)  # client order id -> order id
    answers: dict[str, tuple] = field(default_factory=dict)  # client order id -> (status, code or status)
    retrying: bool = False  # answer a 503 or a dropped connection as a client would: send it again
    unavailable: int = 0  # how many 503s and dropped connections were sent again
    cancels: dict[str, int] = field(default_factory=dict)  # client order id -> the cancel's status
    spans: list[tuple[float, float]] = field(default_factory=list)  # each request's start and end (monotonic)

    def api(self, method: str, path: str, user: str | None = None, **kwargs) -> requests.Response:
        deadline = time.monotonic() + 120
        while True:
            began = time.monotonic()
            try:
                answer = requests.request(method, f"{self.base_url}/api/v1{path}",
                                          headers=self.tokens.get(user, {}), timeout=30, **kwargs)
                self.spans.append((began, time.monotonic()))
                if answer.status_code != 503 or not self.retrying or time.monotonic() > deadline:
                    return answer
            except requests.ConnectionError:
                if not self.retrying or time.monotonic() > deadline:
                    raise
            self.unavailable += 1
            time.sleep(0.2)


def actions(symbol: str, seed: int) -> list[dict]:
    """The symbol's orders, cancels and amends, in order."""
    rng = random.Random(f"{seed}:{symbol}")
    out: list[dict] = []
    for n in range(ACTIONS_PER_SYMBOL):
        user, side = rng.choice(USERS), rng.choice(("buy", "sell"))
        price = f"{rng.randint(995, 1005) / 100:.2f}"
        order = {"symbol": symbol, "side": side, "quantity": rng.randint(1, 5), "client_order_id": f"{symbol}-{n}"}
        roll = rng.random()
        earlier = [a for a in out if a.get("user") == user and a["kind"] == "place"]
        if roll < 0.08 and earlier:
            out.append({"kind": "cancel", "user": user, "target": rng.choice(earlier)["order"]["client_order_id"]})
            continue
        if roll < 0.14 and earlier:
            out.append({"kind": "amend", "user": user, "target": rng.choice(earlier)["order"]["client_order_id"]})
            continue
        if roll < 0.24:
            order |= {"type": "market"}
        else:
            order |= {"type": "limit", "price": price}
            order |= rng.choice([{}, {}, {"time_in_force": "IOC"}, {"time_in_force": "FOK"}, {"post_only": True}])
        if roll > 0.92:  # the same user takes the other side too: a self-trade, cancel_resting or cancel_both
            order |= {"self_trade": rng.choice(("cancel_resting", "cancel_both"))}
        out.append({"kind": "place", "user": user, "order": order})
    return out


def _act(run: Run, action: dict) -> None:
    user = action["user"]
    if action["kind"] == "place":
        coid = action["order"]["client_order_id"]
        answer = run.api("POST", "/orders", user, json=action["order"])
        # Sent again after a 503, an order's client order id answers with the order it placed (200),
        # or with 202 while it is still on its way to the book.
        assert answer.status_code in ((200, 201, 202, 400, 422) if run.retrying else (201, 400, 422)), answer.text
        body = answer.json()
        if answer.status_code in (200, 201, 202):
            run.order_ids[coid] = body["order_id"]
        run.answers[coid] = (answer.status_code, body.get("status") or body["error"]["code"])
        return
    order_id = run.order_ids.get(action["target"])
    if order_id is None:  # it was refused
        return
    if action["kind"] == "cancel":
        answer = run.api("DELETE", f"/orders/{order_id}", user)
        run.cancels[action["target"]] = answer.status_code
    else:
        current = run.api("GET", f"/orders/{order_id}", user).json()  # its quantity: a repeat asks the same
        answer = run.api("PATCH", f"/orders/{order_id}", user, json={"quantity": current.get("quantity", 1) - 1})
    # After a restart, an order answered 202 may be one whose append the outage lost: never on a
    # book, so a cancel or an amend of it finds no such order.
    assert answer.status_code in ((200, 400, 404, 409) if run.retrying else (200, 400, 409)), answer.text


def submit(run: Run, seed: int, between=None) -> None:
    """Register the users, then run every symbol's actions from SUBMITTERS threads (the i-th takes
    every SUBMITTERS-th symbol, interleaving its symbols' actions); ``between()`` runs midway."""
    for user in USERS:
        made = run.api("POST", "/users", json={"username": user, "password": PASSWORD})
        assert made.status_code == 201, made.text
        run.tokens[user] = {"Authorization": f"Bearer {made.json()['token']}"}
    plans = [[actions(symbol, seed) for symbol in SYMBOLS[i::SUBMITTERS]] for i in range(SUBMITTERS)]
    halfway = threading.Barrier(SUBMITTERS + 1)
    failures: list[BaseException] = []

    def submitter(plan: list[list[dict]]) -> None:
        try:
            for step in range(ACTIONS_PER_SYMBOL):
                if step == ACTIONS_PER_SYMBOL // 2:
                    halfway.wait(timeout=120)
                for symbol_actions in plan:
                    _act(run, symbol_actions[step])
        except BaseException as error:  # reported by the caller
            failures.append(error)
            halfway.abort()

    threads = [threading.Thread(target=submitter, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    halfway.wait(timeout=120)
    if between is not None:
        between()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures


def wait_settled(run: Run) -> None:
    """Until the live accounts and the ledger of record have applied every journal to its end."""
    def settled() -> bool:
        ledger = run.api("GET", "/healthz", params={"deep": "1"}).json()["workers"]["ledger.worker"]
        return all(behind == 0 for lags in ledger["lag"].values() for behind in lags.values())

    wait_for(settled, "the live accounts and the ledger of record at the journal's end", timeout=60)


def outcome(run: Run) -> dict:
    """Every order's end and fills, the books and the balances, once the ledger of record has
    settled every trade; keyed by client order id and username."""
    coid_of = {order_id: coid for coid, order_id in run.order_ids.items()}
    trades = sum(len(run.api("GET", f"/trades/{s}", params={"limit": 1000}).json()["trades"]) for s in SYMBOLS)
    wait_settled(run)
    settled_fills = {user: sorted((coid_of[f["order_id"]], f["price"], f["quantity"], f["fee"], f["liquidity"])
                                  for f in run.api("GET", "/fills", user, params={"limit": 1000}).json()["fills"])
                     for user in USERS}
    assert sum(map(len, settled_fills.values())) == 2 * trades
    orders = {coid_of[o["order_id"]]: (o["status"], o["filled_quantity"], o["quantity"], o["reason"])
              for user in USERS
              for o in run.api("GET", "/orders", user, params={"status": "all", "limit": 1000}).json()["orders"]}
    books = {s: run.api("GET", f"/book/{s}", params={"depth": 500}).json() for s in SYMBOLS}
    return {"answers": run.answers, "orders": orders, "fills": settled_fills, "trades": trades,
            "books": {s: (book["bids"], book["asks"]) for s, book in books.items()},
            "balances": {user: run.api("GET", "/account", user).json()["balances"] for user in USERS}}
