"""Each route's OpenAPI operation, declared beside it with ``@operation(...)``; spectree builds the
document from them (orderbook/openapi.py).

Why spectree: it documents plain Flask blueprints from the pydantic models already in use,
where flask-openapi3 and apiflask would replace the app and blueprint classes and parse
requests their own way. Its per-request validation is left out (``DocumentOnly``): the views
parse their input into the exchange's own 4xx errors, and a second pass over every body and
answer would cost the order path for nothing.

An operation names its success answers and the error statuses it can give; every operation
can also answer 503 ``unavailable`` (a data store away), every one that takes a body 413 (over
nginx's 1 MB), and every one Flask-Limiter counts 429 ``rate_limited``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from spectree import Response, SpecTree
from spectree.models import InType, SecureType, SecurityScheme, SecuritySchemeData, Server, Tag
from spectree.plugins.flask_plugin import FlaskPlugin

from orderbook.responses import ErrorBody

ERRORS = {
    400: "Bad input: the code names the field or the rule",
    401: "No valid credentials: a missing, expired or revoked token, or a bad API key signature",
    403: "Not allowed: someone else's account, an API key without the scope, or no trading account",
    404: "No such order, bot, key or symbol",
    409: "Conflicts with the current state, e.g. the order is no longer open",
    413: "The body is too large",
    422: "Well-formed but refused, e.g. insufficient_funds, position_limit, insufficient_data",
    429: "Rate limited (rate_limited): Retry-After says when to try again",
    503: "A data store is away (unavailable) or the book did not answer in time (busy): retry after Retry-After",
}
SIGNING = ("X-API-Key (the key id), X-API-Timestamp (epoch ms, within 30 s) and X-API-Signature (hex "
           "HMAC-SHA256 of timestamp + method + path with query + body, keyed with the key's secret). A read key "
           "may GET; trade may also place, amend and cancel")
TAGS = {tag.name: tag for tag in (
    Tag(name="accounts", description="Registration, sessions, API keys, balances"),
    Tag(name="orders", description="Place, amend, cancel and list orders; fills"),
    Tag(name="market data", description="Symbols, books, quotes, candles, trades, statistics, the leaderboard"),
    Tag(name="bots", description="JSON rule bots the bot runner runs"),
    Tag(name="operations", description="Health"))}


Security = tuple[dict[str, list[str]], ...]


class Auth:
    """Who may call an operation (its OpenAPI security): anyone, a bearer token or a signed API key
    request, or only a bearer token."""
    NONE: Security = ()
    BEARER: Security = ({"bearer": []},)
    SIGNED: Security = (*BEARER, {"apiKey": [], "apiTimestamp": [], "apiSignature": []})


class DocumentOnly(FlaskPlugin):
    """spectree's Flask plugin with its per-request work left out: the view runs as written."""

    def validate(self, func: Callable, *_models_and_hooks: Any, **view_args: Any) -> Any:
        # spectree passes the operation's models and hooks positionally, then Flask's path arguments by name.
        return func(**view_args)


spec = SpecTree(
    backend=DocumentOnly, mode="strict", annotations=False,
    naming_strategy=lambda model: model.__name__, nested_naming_strategy=lambda _parent, child: child,
    # spectree adds this status and model to every operation, for its request validation (off here):
    # ``operation`` documents 503 on each already, with its meaning.
    validation_error_status=503, validation_error_model=ErrorBody,
    title="Exchange REST API", version="1", servers=[Server(url="/api/v1")],
    description="Prices and cash are decimal strings in dollars (\"12.34\"); quantities are integer shares; "
                "times are epoch milliseconds unless a field says seconds. Errors are "
                "{\"error\": {\"code\", \"message\"}}.",
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")),
        *(SecurityScheme(name=name, data=SecuritySchemeData(
            type=SecureType.API_KEY, field_in=InType.HEADER, name=header, description=f"API key auth: {SIGNING}"))
          for name, header in (("apiKey", "X-API-Key"), ("apiTimestamp", "X-API-Timestamp"),
                               ("apiSignature", "X-API-Signature")))])


def operation(tag: str, answers: Mapping[int, Any], errors: Iterable[int] = (), *, query: Any = None,
              body: Any = None, auth: Security = Auth.NONE, rate_limited: bool = True) -> Callable:
    """Document the view below: its tag, its answers by status (a model, ``(model, description)``
    or ``None`` for no body), its error statuses, its query and body models and who may call it.
    The view's docstring is the summary; its function name the operationId."""
    statuses = {*errors, 503, *((401, 403) if auth else ()), *((429,) if rate_limited else ()),
                *((413,) if body is not None else ())} - set(answers)
    codes = {f"HTTP_{status}": answer for status, answer in answers.items()}
    codes |= {f"HTTP_{status}": (ErrorBody, ERRORS[status]) for status in sorted(statuses)}

    def document(view: Callable) -> Callable:
        return spec.validate(query=query, json=body, resp=Response(**codes), tags=[TAGS[tag]],
                             security=list(auth) or None, operation_id=view.__name__)(view)
    return document
