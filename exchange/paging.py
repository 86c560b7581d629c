"""Pages of a history, newest first, behind opaque cursors; and one page merged from two stores.

Every history is read in descending order of a key (a tuple such as
``(created_ms, order_id)``). A cursor is the key of the last item a page
covered, encoded so that clients pass it back as it came; the next page holds
the items whose key is below it.

A history that lives in two stores (the recent part in Redis, the rest in
MongoDB, with items moving from one to the other) is read from both and
merged: each store's ``SourcePage`` holds the items it found below the cursor,
in key order, and, if it stopped before its end, the key of the last one it
looked at. The merged page keeps only what every store has looked at, so no
item is skipped, and drops an item found in both, so none is shown twice.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

MAX_CURSOR_CHARS = 200
MAX_KEY_INT = 2**63 - 1  # MongoDB's int64: a larger number in a query cannot even be sent


class BadCursor(ValueError):
    """A cursor this API did not make."""


def encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> tuple:
    """The key a cursor holds, checked against ``shape`` (the type of each part)."""
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # not base64, not JSON
        raise BadCursor(cursor) from None
    if (len(cursor) > MAX_CURSOR_CHARS or not isinstance(parts, list) or len(parts) != len(shape)
            or not all(type(part) is kind for part, kind in zip(parts, shape))
            or any(type(part) is int and not 0 <= part <= MAX_KEY_INT for part in parts)):
        raise BadCursor(cursor)
    return tuple(parts)


@dataclass(frozen=True)
class SourcePage:
    items: list  # found below the cursor, in descending key order
    floor: tuple | None = None  # the key of the last item looked at, if the store has more below it


def merge_pages(sources: Sequence[SourcePage], key: Callable[[Any], tuple],
                limit: int) -> tuple[list, tuple | None]:
    """(up to ``limit`` items, newest first, each once; the key the next page starts below, or None
    after the last page)."""
    floors = [source.floor for source in sources if source.floor is not None]
    boundary = max(floors) if floors else None  # below it, some store has not looked yet
    merged: dict[tuple, object] = {}
    for source in sources:
        for item in source.items:
            item_key = key(item)
            if boundary is None or item_key >= boundary:
                merged.setdefault(item_key, item)
    ordered = [merged[item_key] for item_key in sorted(merged, reverse=True)]
    if len(ordered) > limit:
        return ordered[:limit], key(ordered[limit - 1])
    return ordered, boundary
