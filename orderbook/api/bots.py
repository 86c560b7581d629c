"""Rule bots: store, list, show and stop a user's bots (the bot runner, ``python -m bots.runner``, runs them)."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from bots.rules import RuleError, parse_rule
from bots.store import MAX_NAME, BotStore, TooManyBots, view
from exchange.paging import BadCursor
from orderbook.api.spec import Auth, operation
from orderbook.errors import ApiError, not_found
from orderbook.queries import BotsQuery, parse_query
from orderbook.responses import Bot, Bots
from orderbook.services import login_required, services

bp = Blueprint("bots", __name__)
MAX_BODY = 32 * 1024


class BotBody(BaseModel):
    """POST /bots's body as the document shows it: a rule (bots/rules/schema.json, embedded with its $id)
    and a name. ``_body`` reads it, keeping every number's digits as written."""
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    rule: dict[str, Any]  # the document embeds bots/rules/schema.json here (orderbook/openapi.py)


def _store() -> BotStore:
    return BotStore(services().auth.db, services().settings.bot_max_active)


def _body() -> dict:
    """The JSON body with every non-integer number a Decimal, so a price's digits are checked as written."""
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "payload_too_large", f"a bot may be at most {MAX_BODY} bytes of JSON")
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=lambda name: Decimal(name))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object {\"rule\": ..., \"name\"?: ...}")
    try:  # JSON may escape a lone surrogate ("\\ud800"); no store can encode one
        json.dumps(body, ensure_ascii=False, default=str).encode()
    except UnicodeEncodeError:
        raise ApiError(400, "invalid_json", "the request body holds a lone surrogate (\\ud800-\\udfff)") from None
    unknown = sorted(set(body) - {"rule", "name"})
    if unknown:
        raise ApiError(400, "unknown_field", f"{unknown[0]}: unknown field; a bot is {{\"rule\", \"name\"?}}")
    if "rule" not in body:
        raise ApiError(400, "missing_field", "rule: a bot needs a rule")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME):
        raise ApiError(400, "invalid_name", f"name must be a string of 1 to {MAX_NAME} characters")
    return body


@bp.post("/bots")
@operation("bots", {201: Bot}, (400, 409, 413), body=BotBody, auth=Auth.SIGNED)
@login_required
def create_bot():
    """Store a rule bot (bots/rules/schema.json); it starts waiting.

    409 too_many_bots past BOT_MAX_ACTIVE running bots."""
    body = _body()
    try:
        rule = parse_rule(body["rule"], services().settings.symbols)
    except RuleError as error:
        raise ApiError(400, error.code, str(error)) from None
    try:
        doc = _store().create(g.user_id, body["rule"], len(rule.steps()), body.get("name"))
    except TooManyBots as error:
        raise ApiError(409, "too_many_bots", str(error)) from None
    return jsonify(view(doc)), 201


@bp.get("/bots")
@operation("bots", {200: Bots}, (400,), query=BotsQuery, auth=Auth.SIGNED)
@login_required
def list_bots():
    """List my bots, newest first, a page at a time."""
    query = parse_query(BotsQuery)
    try:
        docs, next_cursor = _store().page(g.user_id, query.limit, query.cursor)
    except BadCursor:
        raise ApiError(400, "invalid_parameter", "cursor is not one this API gave: pass next_cursor as it came") \
            from None
    return jsonify({"bots": [view(doc) for doc in docs], "next_cursor": next_cursor})


@bp.get("/bots/<bot_id>")
@operation("bots", {200: Bot}, (404,), auth=Auth.SIGNED)
@login_required
def get_bot(bot_id: str):
    """One of my bots: status, step, last action."""
    doc = _store().get(g.user_id, bot_id)
    if doc is None:
        raise not_found(f"no bot {bot_id!r}")
    return jsonify(view(doc))


@bp.delete("/bots/<bot_id>")
@operation("bots", {200: Bot}, (404,), auth=Auth.SIGNED)
@login_required
def stop_bot(bot_id: str):
    """Stop one of my bots; it never acts again."""
    doc = _store().stop(g.user_id, bot_id)
    if doc is None:
        raise not_found(f"no bot {bot_id!r}")
    return jsonify(view(doc))
