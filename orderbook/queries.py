"""Query strings, validated by pydantic models like request bodies (orderbook.schemas).

Every bad value is a 400 ``invalid_parameter`` whose message starts with the
parameter's name. The same models describe the query parameters in the
OpenAPI document (orderbook.openapi). Parameters a model does not name are ignored.
"""
from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal, TypeVar

from flask import request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from orderbook.errors import ApiError
from ticker.candles import INTERVALS
from ticker.quotes import STATS_INTERVALS

MAX_CANDLES = 10_000  # a candles request may span at most this many intervals
MAX_EPOCH_S = 10**11
MAX_EPOCH_MS = 10**14
BOTS_PAGE = 50
MAX_BOTS_PAGE = 200

_ASCII_INTEGER = re.compile(r"[0-9]{1,18}")


def _ascii_integer(raw: object) -> object:
    """Only plain ASCII digits: str.isdigit() also takes '²' and '①' (which int() then refuses),
    and int() takes '٣', ' 5', '+5' and '1_0'."""
    if isinstance(raw, str):
        if not _ASCII_INTEGER.fullmatch(raw):
            raise ValueError("not a plain integer")
        return int(raw)
    return raw


def listed_symbol(raw: str | None, symbols: tuple[str, ...], status: int = 404) -> str:
    """A symbol as listed (case aside), or ``status`` ``unknown_symbol``: 404 in a path, 400 in a
    body or a query. Only ASCII letters fold (``str.upper`` also makes 'pupſ' read 'PUPS')."""
    symbol = raw.upper() if raw is not None and raw.isascii() else None
    if symbol not in symbols:
        raise ApiError(status, "unknown_symbol", f"unknown symbol {raw!r}; see /api/v1/symbols")
    return symbol


def check_range(start: int | None, end: int | None) -> None:
    """400 ``invalid_range`` for a start after its end (either may be left out)."""
    if start is not None and end is not None and start > end:
        raise ApiError(400, "invalid_range", "start must not be after end")


Integer = Annotated[int, BeforeValidator(_ascii_integer)]
EpochSeconds = Annotated[int, Field(ge=0, le=MAX_EPOCH_S), BeforeValidator(_ascii_integer)]
EpochMillis = Annotated[int, Field(ge=0, le=MAX_EPOCH_MS), BeforeValidator(_ascii_integer)]
Symbol = Annotated[str, Field(max_length=16)]
Cursor = Annotated[str, Field(max_length=200)]


def _as_parameters(schema: dict) -> None:
    """Each property's JSON Schema as a query parameter's: without its title, and without the null
    an optional one's type allows (a query string has no null; an absent parameter takes its default)."""
    for name, prop in schema.get("properties", {}).items():
        prop = {key: value for key, value in prop.items() if key != "title"}
        branches = [branch for branch in prop.pop("anyOf", ()) if branch.get("type") != "null"]
        if len(branches) == 1:
            prop.update(branches[0])
        if prop.get("default", 0) is None:
            del prop["default"]
        schema["properties"][name] = prop


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_as_parameters)


@cache
def parameter_schemas(model: type[Query]) -> dict[str, dict]:
    """Each parameter's JSON Schema, as the OpenAPI document shows it."""
    return model.model_json_schema()["properties"]


def _message(model: type[Query], name: str, pydantic_message: str) -> str:
    schema = parameter_schemas(model).get(name, {})
    if "enum" in schema:
        return f"{name} must be one of {', '.join(schema['enum'])}"
    if schema.get("type") == "integer":
        return f"{name} must be an integer from {schema['minimum']} to {schema['maximum']}"
    return f"{name}: {pydantic_message}"


Q = TypeVar("Q", bound=Query)


def parse_query(model: type[Q]) -> Q:
    """The request's query string as ``model`` (the first value of a repeated parameter),
    or a 400 invalid_parameter naming the first bad one."""
    try:
        return model.model_validate(request.args.to_dict(flat=True))
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        name = str(first["loc"][0]) if first.get("loc") else "query"
        raise ApiError(400, "invalid_parameter", _message(model, name, first["msg"])) from None


class HealthQuery(Query):
    deep: Literal["0", "1"] = Field("0", description="1: every kind of worker too (heartbeats, journal lag)")

    @property
    def is_deep(self) -> bool:
        return self.deep == "1"


class BookQuery(Query):
    depth: Integer = Field(50, ge=1, le=500, description="price levels per side (a snapshot costs what it returns)")


class HistoryQuery(Query):
    """A page of a history, newest first: follow ``next_cursor`` until it is null."""

    cursor: Cursor | None = Field(None, description="the previous page's next_cursor")
    start: EpochMillis | None = Field(None, description="epoch milliseconds: only what happened at or after it")
    end: EpochMillis | None = Field(None, description="epoch milliseconds: only what happened before it")
    limit: Integer = Field(100, ge=1, le=1000, description="most per page")


class TradesQuery(HistoryQuery):
    pass


class LeaderboardQuery(Query):
    limit: Integer = Field(100, ge=1, le=10_000, description="top accounts")


class OrdersQuery(HistoryQuery):
    status: Literal["open", "all"] = Field("open", description="open orders, or every order ever placed")
    symbol: Symbol | None = Field(None, description="only this symbol's")


class CancelAllQuery(Query):
    symbol: Symbol | None = Field(None, description="only this symbol's")


class FillsQuery(HistoryQuery):
    symbol: Symbol | None = Field(None, description="only this symbol's")


class FillsExportQuery(Query):
    symbol: Symbol | None = Field(None, description="only this symbol's")
    start: EpochMillis | None = Field(None, description="epoch milliseconds: only fills at or after it")
    end: EpochMillis | None = Field(None, description="epoch milliseconds: only fills before it")


class BotsQuery(Query):
    limit: Integer = Field(BOTS_PAGE, ge=1, le=MAX_BOTS_PAGE, description="bots per page, newest first")
    cursor: Cursor | None = Field(None, description="the previous page's next_cursor")


# 1s candles come from the ticker's last ten minutes of seconds only; the rest roll up minutes.
CANDLE_INTERVALS = {"1s": 1, **INTERVALS}


class CandleQuery(Query):
    """[start, end) in epoch seconds, at most ``limit`` candles of ``interval``."""

    # Literal of a computed tuple: pydantic reads it at runtime; mypy cannot, hence the ignores.
    interval: Literal[tuple(CANDLE_INTERVALS)] = Field(  # type: ignore[valid-type]
        "1m", description="candle width; 1s covers only the last ten minutes")
    start: EpochSeconds | None = Field(None, description="epoch seconds; by default end - limit candles")
    end: EpochSeconds | None = Field(None, description="epoch seconds, exclusive; by default past the live candle")
    limit: Integer = Field(500, ge=1, le=1000, description="most candles, the newest kept")

    @property
    def seconds(self) -> int:
        return CANDLE_INTERVALS[self.interval]

    def span(self, now_s: int) -> tuple[int, int]:
        """[start, end): by default the last ``limit`` intervals up to and including the live one."""
        end = self.end if self.end is not None else now_s + self.seconds
        start = self.start if self.start is not None else end - self.seconds * self.limit
        check_range(start, end)
        if (end - start) // self.seconds > MAX_CANDLES:
            raise ApiError(400, "range_too_large",
                           f"a request may span at most {MAX_CANDLES} {self.interval} candles")
        return max(0, start), end


MAX_STATS_SYMBOLS = 10


class StatsQuery(Query):
    """Return statistics of the last ``window`` intervals (ticker/stats.py states the conventions)."""

    symbols: Annotated[str, Field(max_length=200)] | None = Field(
        None, description=f"comma-separated symbols, at most {MAX_STATS_SYMBOLS}; by default every listed one")
    interval: Literal[tuple(STATS_INTERVALS)] = Field(  # type: ignore[valid-type]
        "1m", description="the width of one return (under a minute: within the last ten minutes, the 1s candles "
                          "the ticker keeps)")
    window: Integer = Field(60, ge=3, le=500, description="how many intervals, the live one included")
    series: Literal["0", "1"] = Field("0", description="1: each pair's spread series too")

    def listed(self, symbols: tuple[str, ...]) -> list[str]:
        """The asked symbols, each once, in the order given (400 unknown_symbol or invalid_parameter)."""
        if self.symbols is None:
            return list(symbols)
        asked = list(dict.fromkeys(listed_symbol(raw.strip(), symbols, status=400)
                                   for raw in self.symbols.split(",") if raw.strip()))
        if not asked or len(asked) > MAX_STATS_SYMBOLS:
            raise ApiError(400, "invalid_parameter", f"symbols must name 1 to {MAX_STATS_SYMBOLS} symbols")
        return asked
