"""Property test: random order flows against a naive model of balances.

The model keeps each account's total of every asset and the open orders; an
account's hold is recomputed from scratch as what its open orders still need.
It is written from the rules in the README (fees floored per fill, buy holds
reserve fees at the higher rate), sharing no code with the ledger. After
every command both stores are settled and compared with it, and `ledger
check` must pass.
"""
from __future__ import annotations

from collections import defaultdict

import orjson
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from exchange import keys, mongo
from orderbook.errors import ApiError
from orderbook.schemas import PlaceOrder

USERS = ("ann", "ben", "cat")
SYMBOL = "KRYP"
BPS = 10_000


class BalanceModel:
    def __init__(self, user_ids, cash: int, shares: int):
        self.totals = defaultdict(lambda: defaultdict(int))
        for user in user_ids:
            self.totals[user]["cash"], self.totals[user][SYMBOL] = cash, shares
        self.open: dict[str, dict] = {}

    def apply(self, event: dict) -> None:
        kind = event["type"]
        if kind == "accepted":
            o = event["order"]
            self.open[event["order_id"]] = {
                "user": event["user_id"], "side": o["side"], "remaining": o["quantity"],
                "price": o["price"] if o["type"] == "limit" else o["protection_price"],
                "maker_bps": o["maker_fee_bps"], "taker_bps": o["taker_fee_bps"]}
        elif kind == "trade":
            p, q = event["price"], event["quantity"]
            maker, taker = self.open[event["maker_order_id"]], self.open[event["taker_order_id"]]
            maker_fee, taker_fee = p * q * maker["maker_bps"] // BPS, p * q * taker["taker_bps"] // BPS
            buyer, seller = (taker, maker) if event["taker_side"] == "buy" else (maker, taker)
            buyer_fee, seller_fee = (taker_fee, maker_fee) if buyer is taker else (maker_fee, taker_fee)
            self.totals[buyer["user"]]["cash"] -= p * q + buyer_fee
            self.totals[buyer["user"]][SYMBOL] += q
            self.totals[seller["user"]][SYMBOL] -= q
            self.totals[seller["user"]]["cash"] += p * q - seller_fee
            self.totals["house"]["cash"] += buyer_fee + seller_fee
            maker["remaining"] -= q
            taker["remaining"] -= q
        elif kind == "done":
            self.open.pop(event["order_id"])
        elif kind == "amended":
            self.open[event["order_id"]]["remaining"] = event["remaining"]

    def expected(self, user: str) -> dict:
        held = defaultdict(int)
        for o in self.open.values():
            if o["user"] == user:
                if o["side"] == "buy":
                    notional = o["price"] * o["remaining"]
                    held["cash"] += notional + notional * max(o["maker_bps"], o["taker_bps"]) // BPS
                else:
                    held[SYMBOL] += o["remaining"]
        return {asset: {"available": self.totals[user][asset] - held[asset], "on_hold": held[asset]}
                for asset in ("cash", SYMBOL)}


step = st.tuples(
    st.sampled_from(USERS), st.sampled_from(("buy", "sell", "cancel")),
    st.sampled_from(("limit", "limit", "limit", "market")), st.integers(97, 103), st.integers(1, 40),
    st.sampled_from(("GTC", "GTC", "IOC", "FOK")))


@hyp_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_balances_follow_the_model_at_every_step(app, settings, redis_client, settle, audit, steps):
    redis_client.flushall()
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    for name in (mongo.ACCOUNTS, mongo.USERS, mongo.TRADES, mongo.CURSORS):
        db[name].delete_many({})
    services = app.extensions["exchange"]
    ids = {user: services.auth.register(user, "correct horse")["user_id"] for user in USERS}
    model = BalanceModel(ids.values(), settings.starting_cash_cents, settings.starting_shares)
    seen = 0
    for user, action, kind, price, quantity, tif in steps:
        try:
            if action == "cancel":
                open_ids = sorted(m.decode() for m in redis_client.smembers(keys.open_orders(SYMBOL, ids[user])))
                if open_ids:
                    services.entry.cancel(ids[user], open_ids[quantity % len(open_ids)])
            else:
                body = {"symbol": SYMBOL, "side": action, "type": kind, "quantity": quantity,
                        "time_in_force": tif}
                if kind == "limit":
                    body["price"] = f"{price // 10}.{price % 10}0"
                services.entry.place(ids[user], PlaceOrder(**body))
        except ApiError as err:
            assert err.code in ("insufficient_funds", "no_liquidity", "order_not_open"), err.code
        events = [orjson.loads(f[b"event"]) for _id, f in redis_client.xrange(keys.events(SYMBOL))][seen:]
        seen += len(events)
        for event in events:
            model.apply(event)
        settle()
        for user, user_id in ids.items():
            live = services.accounts.balances(user_id)
            assert {a: live[a] for a in ("cash", SYMBOL)} == model.expected(user_id), user
        report = audit()
        assert report.ok, report.problems
    house = services.accounts.balances("house") if redis_client.exists(keys.account("house")) else {}
    assert house.get("cash", {}).get("available", 0) == model.totals["house"]["cash"]
