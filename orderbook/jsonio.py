"""Flask's JSON through orjson: order bodies and responses are the API's hottest JSON.

Serialising a response through the standard library cost about as much CPU as
the whole match of an order. Types orjson does not know (Decimal) fall back to
Flask's default conversion; anything else it refuses (an integer beyond 64 bits)
goes through the standard library instead of failing the request.
"""
from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        if kwargs.keys() - {"separators"}:  # indent, sort_keys...: a caller wants the standard library's output
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
        except TypeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs):
        return orjson.loads(s)
