"""A symbol's trading status: trading, or halted until a time (or until an operator resumes it).

The matcher writes it (``keys.trading_status``) with the ``halted`` and ``resumed``
journal events that change it; the API, the ticker and the web tier read it.
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class TradingStatus:
    halted: bool = False
    until_ms: int | None = None  # a halt's end (None while halted: until an operator resumes it)
    reason: str | None = None  # circuit_breaker | operator
    # The journal sequence of the last halt (kept after it ends): the circuit breaker counts only
    # the trades after it.
    last_halt_seq: int = 0

    def halted_at(self, now_ms: int) -> bool:
        return self.halted and (self.until_ms is None or now_ms < self.until_ms)

    def due_to_resume(self, now_ms: int) -> bool:
        return self.halted and self.until_ms is not None and now_ms >= self.until_ms

    def as_view(self, now_ms: int) -> dict:
        """What the API shows: {"status": "trading"|"halted", "halted_until": ms or None, "halt_reason"}."""
        if not self.halted_at(now_ms):
            return {"status": "trading", "halted_until": None, "halt_reason": None}
        return {"status": "halted", "halted_until": self.until_ms, "halt_reason": self.reason}

    def to_json(self) -> bytes:
        return orjson.dumps({"halted": self.halted, "until_ms": self.until_ms, "reason": self.reason,
                             "last_halt_seq": self.last_halt_seq})

    @classmethod
    def from_json(cls, raw: bytes | None) -> "TradingStatus":
        if not raw:
            return cls()
        data = orjson.loads(raw)
        return cls(bool(data["halted"]), data["until_ms"], data["reason"], data.get("last_halt_seq", 0))
