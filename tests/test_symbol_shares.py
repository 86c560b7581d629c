"""The matchers' shares of the symbols (orderbook/symbol_shares.py): every symbol served by exactly
one live matcher, none serving more than ceil(S/N), and every matcher computing the same map."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from orderbook.symbol_shares import symbols_served

SYMBOLS = st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5), min_size=1, max_size=30,
                   unique=True)
ROSTERS = st.lists(st.text("0123456789abcdef:", min_size=1, max_size=12), min_size=1, max_size=8, unique=True)


@given(SYMBOLS, ROSTERS, st.randoms())
def test_each_symbol_has_exactly_one_matcher_and_shares_are_even(symbols, roster, random):
    shuffled = list(roster)
    random.shuffle(shuffled)  # each matcher reads the roster in its own order
    shares = {matcher: symbols_served(matcher, shuffled if n % 2 else roster, symbols)
              for n, matcher in enumerate(roster)}
    served = [symbol for share in shares.values() for symbol in share]
    assert sorted(served) == sorted(symbols)  # all served, none twice
    assert max(len(share) for share in shares.values()) == math.ceil(len(symbols) / len(roster))
    assert min(len(share) for share in shares.values()) == len(symbols) // len(roster)


def test_a_matcher_off_the_roster_serves_nothing_and_one_alone_serves_all():
    assert symbols_served("gone", ["a", "b"], ["KRYP", "ADAM"]) == frozenset()
    assert symbols_served("a", ["a"], ["KRYP", "ADAM", "PUPS"]) == {"KRYP", "ADAM", "PUPS"}
    assert symbols_served("b", ["b", "a"], ["KRYP", "ADAM", "PUPS"]) == {"ADAM"}
