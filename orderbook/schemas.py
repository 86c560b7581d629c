"""Request bodies, validated by pydantic and turned into 4xx errors with codes."""
from __future__ import annotations

from typing import Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from orderbook import passwords
from orderbook.errors import ApiError

MAX_QUANTITY = 1_000_000_000
MAX_CANDLES = 10_000  # a candles request may span at most this many intervals


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(Body):
    username: StrictStr = Field(max_length=64)
    password: StrictStr


class Registration(Credentials):
    password: StrictStr = Field(min_length=passwords.MIN_LENGTH, max_length=256)


class PlaceOrder(Body):
    symbol: StrictStr = Field(max_length=16)
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"] = "limit"
    price: StrictStr | None = Field(default=None, description='decimal string, e.g. "12.34"')
    quantity: StrictInt = Field(gt=0, le=MAX_QUANTITY)
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    post_only: StrictBool = False
    self_trade: Literal["cancel_resting", "cancel_taker", "cancel_both"] = "cancel_resting"
    client_order_id: StrictStr | None = Field(default=None, min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9_.:-]+$")


class AmendOrderBody(Body):
    quantity: StrictInt = Field(gt=0, le=MAX_QUANTITY, description="the new, smaller total quantity")


def _code_for(error: dict) -> str:
    field = ".".join(str(p) for p in error.get("loc", ())) or "body"
    if error.get("type") == "missing":
        return "missing_field"
    if error.get("type") == "extra_forbidden":
        return "unknown_field"
    return f"invalid_{field}"


def parse(model: type[Body]) -> Body:
    """The JSON body as ``model``, or an ApiError naming the first problem."""
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ApiError(400, _code_for(first), f"{field}: {first['msg']}") from None


class CandleQuery(Body):
    """GET /candles query: interval, [start, end) in epoch seconds, at most ``limit`` candles."""

    interval: str = "1m"
    interval_s: int = 60
    start: int
    end: int
    limit: int = 500

    @classmethod
    def parse(cls, args, now_s: int) -> "CandleQuery":
        from ticker.candles import INTERVALS

        interval = args.get("interval", "1m")
        if interval not in INTERVALS:
            raise ApiError(400, "invalid_interval", f"interval must be one of {', '.join(INTERVALS)}")
        seconds = INTERVALS[interval]
        numbers = {}
        for name, low, high in (("start", 0, 10**11), ("end", 0, 10**11), ("limit", 1, 1000)):
            raw = args.get(name)
            if raw is not None:
                if not raw.isdigit() or not low <= int(raw) <= high:
                    raise ApiError(400, f"invalid_{name}", f"{name} must be an integer from {low} to {high}")
                numbers[name] = int(raw)
        limit = numbers.get("limit", 500)
        end = numbers.get("end", now_s + seconds)  # by default up to and including the live candle
        start = numbers.get("start", end - seconds * limit)
        if start > end:
            raise ApiError(400, "invalid_range", "start must not be after end")
        if (end - start) // seconds > MAX_CANDLES:
            raise ApiError(400, "range_too_large", f"a request may span at most {MAX_CANDLES} {interval} candles")
        return cls(interval=interval, interval_s=seconds, start=max(0, start), end=end, limit=limit)
