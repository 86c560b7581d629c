"""Parse a client's ``subscribe``/``unsubscribe`` payload: pure, no I/O."""
from __future__ import annotations

from exchange.rooms import CHANNELS


class SubscriptionError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def payload(self) -> dict:
        return {"code": self.code, "message": self.message}


def parse(data, symbols: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``{symbol, channels?}`` -> (symbol, channels); ``channels`` defaults to all four."""
    if not isinstance(data, dict):
        raise SubscriptionError("invalid_request", "expected an object {symbol, channels}")
    symbol = data.get("symbol")
    if not isinstance(symbol, str):
        raise SubscriptionError("invalid_request", "symbol must be a string")
    if symbol.upper() not in symbols:
        raise SubscriptionError("unknown_symbol", f"unknown symbol {symbol[:20]!r}; one of {', '.join(symbols)}")
    channels = data.get("channels", list(CHANNELS))
    if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
        raise SubscriptionError("invalid_request", "channels must be a non-empty list of strings")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise SubscriptionError("unknown_channel",
                                f"unknown channel {unknown[0][:20]!r}; one of {', '.join(CHANNELS)}")
    return symbol.upper(), tuple(dict.fromkeys(channels))
