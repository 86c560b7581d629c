"""Redis stream entry ids ('<ms>-<n>'), compared as what they are: time, then order within it."""
from __future__ import annotations


def entry_order(entry_id: bytes | str) -> tuple[int, int]:
    """A stream entry id as a sortable (ms, n); '0-0' is before every entry."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, part = text.partition("-")
    return int(ms), int(part or 0)
