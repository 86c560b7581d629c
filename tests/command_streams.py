"""Random command streams for the matching tests: Hypothesis strategies and a seeded generator.

Streams are drawn as specs, then built into commands. Few users make self-trades
common, few price levels make crossing common, and cancels and amends mostly hit
orders that are resting at that point (found by running the naive reference
while building), some hit done orders, unknown ids or someone else's order.
"""
from __future__ import annotations

import random

from hypothesis import strategies as st

from orderbook.model import AmendOrder, CancelOrder, NewOrder, OrderType, SelfTrade, Side, TimeInForce
from tests.reference_matcher import ReferenceMatcher

USERS = ("alice", "bob", "carol")
PRICES = (98, 99, 100, 101, 102)
ORDER_TYPES = [OrderType.LIMIT] * 5 + [OrderType.MARKET, OrderType.STOP, OrderType.STOP_LIMIT]
TIME_IN_FORCE = [TimeInForce.GTC] * 3 + [TimeInForce.IOC, TimeInForce.FOK]
POST_ONLY = [False] * 4 + [True]
TARGETS = ["resting"] * 4 + ["placed", "unknown"]  # what a cancel or amend aims at
KINDS = ["new"] * 6 + ["cancel"] * 2 + ["amend"] * 2
SENDERS = [None] * 4 + list(USERS)  # None: the owner sends it; else that user (maybe not_found)

# One flat spec for every kind (fields a kind does not use are ignored), drawn as
# a tuple: far cheaper for Hypothesis than a dictionary or a strategy per kind.
SPEC_FIELDS = {
    "kind": st.sampled_from(KINDS),
    "user": st.sampled_from(USERS),
    "side": st.sampled_from(Side),
    "type": st.sampled_from(ORDER_TYPES),
    "price": st.sampled_from(PRICES),
    "protection_price": st.sampled_from([None, *PRICES]),
    "quantity": st.integers(1, 6),
    "time_in_force": st.sampled_from(TIME_IN_FORCE),
    "post_only": st.sampled_from(POST_ONLY),
    "self_trade": st.sampled_from(SelfTrade),
    # cancels and amends: what they aim at, which one, who sends it
    "target": st.sampled_from(TARGETS),
    "pick": st.integers(0, 50),
    "sender": st.sampled_from(SENDERS),
    "new_quantity": st.integers(0, 7),
    "stop_price": st.sampled_from(PRICES),
}
command_spec = st.tuples(*SPEC_FIELDS.values()).map(lambda values: dict(zip(SPEC_FIELDS, values)))
# Drawing the length first gives long streams as often as short ones (plain
# st.lists averages about five elements), and still shrinks to a short stream.
command_specs = st.integers(0, 80).flatmap(lambda n: st.lists(command_spec, min_size=n, max_size=n))


def random_spec(rng: random.Random) -> dict:
    return {
        "kind": rng.choice(KINDS), "user": rng.choice(USERS), "side": rng.choice(list(Side)),
        "type": rng.choice(ORDER_TYPES), "price": rng.choice(PRICES),
        "protection_price": rng.choice([None, *PRICES]), "quantity": rng.randint(1, 6),
        "time_in_force": rng.choice(TIME_IN_FORCE), "post_only": rng.choice(POST_ONLY),
        "self_trade": rng.choice(list(SelfTrade)), "target": rng.choice(TARGETS),
        "pick": rng.randint(0, 50), "sender": rng.choice(SENDERS), "new_quantity": rng.randint(0, 7),
        "stop_price": rng.choice(PRICES),
    }


def random_commands(seed: int, count: int, id_prefix: str = "o") -> list:
    rng = random.Random(seed)
    return build_commands([random_spec(rng) for _ in range(count)], id_prefix=id_prefix)


def build_commands(specs, id_prefix: str = "o") -> list:
    """Turn specs into commands with unique order ids ``{id_prefix}{index}``."""
    guide = ReferenceMatcher()  # only to know what rests when a cancel is drawn
    commands, placed = [], []
    for index, spec in enumerate(specs):
        if spec["kind"] == "new":
            order_type = spec["type"]
            command = NewOrder(
                order_id=f"{id_prefix}{index}", user_id=spec["user"], side=spec["side"],
                quantity=spec["quantity"], type=order_type,
                price=spec["price"] if order_type.is_limit else None,
                protection_price=None if order_type.is_limit else spec["protection_price"],
                time_in_force=spec["time_in_force"], post_only=spec["post_only"], self_trade=spec["self_trade"],
                stop_price=spec["stop_price"] if order_type.is_stop else None)
            placed.append(command)
        else:
            resting = [o for side in Side for o in guide.resting_orders(side)] + guide.parked_orders()
            pool = resting if spec["target"] == "resting" else placed
            if spec["target"] == "unknown" or not pool:
                order_id, owner = f"{id_prefix}ghost{spec['pick'] % 5}", USERS[spec["pick"] % len(USERS)]
            else:
                target = pool[spec["pick"] % len(pool)]
                order_id, owner = target.order_id, target.user_id
            user = spec["sender"] or owner
            if spec["kind"] == "cancel":
                command = CancelOrder(order_id, user)
            else:
                command = AmendOrder(order_id, user, spec["new_quantity"])
        guide.apply(command)
        commands.append(command)
    return commands
