"""Request bodies, validated by pydantic and turned into 4xx errors with codes."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, WithJsonSchema

from orderbook import passwords
from orderbook.errors import ApiError

MAX_QUANTITY = 1_000_000_000
MAX_BATCH_ORDERS = 20  # orders in one POST /orders/batch


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
    type: Literal["limit", "market", "stop", "stop_limit"] = "limit"
    price: StrictStr | None = Field(default=None, description='decimal string, e.g. "12.34"')
    stop_price: StrictStr | None = Field(default=None, description='a stop order\'s trigger, decimal string: '
                                         'a buy stop triggers on a trade at or above it, a sell stop at or below')
    quantity: StrictInt = Field(gt=0, le=MAX_QUANTITY)
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    post_only: StrictBool = False
    self_trade: Literal["cancel_resting", "cancel_taker", "cancel_both"] = "cancel_resting"
    client_order_id: StrictStr | None = Field(default=None, min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9_.:-]+$")


class PlaceOrders(Body):
    """A batch's envelope; its orders are validated one by one (``parse_batch``), so one bad order
    is its own error. The document shows each as POST /orders's body."""
    orders: Annotated[list[Any], WithJsonSchema({"type": "array", "items": PlaceOrder.model_json_schema(),
                                                 "minItems": 1, "maxItems": MAX_BATCH_ORDERS})] = Field(
        min_length=1, max_length=MAX_BATCH_ORDERS)


class CreateApiKey(Body):
    scopes: list[Literal["read", "trade"]] = Field(min_length=1, max_length=2,
                                                   description="read: GET only; trade: also place, amend, cancel")
    label: StrictStr | None = Field(default=None, max_length=64)


class AmendOrderBody(Body):
    quantity: StrictInt = Field(gt=0, le=MAX_QUANTITY, description="the new, smaller total quantity")


B = TypeVar("B", bound=Body)


def _code_for(error: Mapping[str, Any]) -> str:
    field = ".".join(str(p) for p in error.get("loc", ())) or "body"
    if error.get("type") == "missing":
        return "missing_field"
    if error.get("type") == "extra_forbidden":
        return "unknown_field"
    return f"invalid_{field}"


def parse(model: type[B]) -> B:
    """The JSON body as ``model``, or an ApiError naming the first problem."""
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return validate(model, data)


def validate(model: type[B], data: object, where: str = "") -> B:
    """``data`` as ``model``, or an ApiError naming the first problem (``where`` prefixes its field)."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", f"{where or 'the request body'} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ApiError(400, _code_for(first), f"{where}{'.' if where else ''}{field}: {first['msg']}") from None


def parse_batch() -> list[PlaceOrder | ApiError]:
    """POST /orders/batch's orders, each validated on its own: one bad order is its own error."""
    body = parse(PlaceOrders)
    placed: list[PlaceOrder | ApiError] = []
    for index, data in enumerate(body.orders):
        try:
            placed.append(validate(PlaceOrder, data, f"orders.{index}"))
        except ApiError as error:
            placed.append(error)
    return placed
