"""Which symbols each matcher process serves, from the roster of live matchers.

Every matcher computes the same answer from the same roster: the symbols in their listed
order dealt round-robin to the matchers sorted by id. With S symbols and N matchers each
serves ceil(S/N) or floor(S/N). A roster change may move symbols between survivors too;
that costs a lock hand-over and a book reload, never correctness: the lock and its fence
still decide who may commit (orderbook/matcher.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def symbols_served(matcher: str, roster: Iterable[str], symbols: Sequence[str]) -> frozenset[str]:
    """The symbols ``matcher`` serves among the live ``roster``; none if it is not on it."""
    members = sorted(set(roster))
    if matcher not in members:
        return frozenset()
    place, count = members.index(matcher), len(members)
    return frozenset(symbol for index, symbol in enumerate(symbols) if index % count == place)
