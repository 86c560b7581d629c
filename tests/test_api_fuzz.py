"""Schemathesis drives every operation of /api/v1/openapi.json against the real app (real Redis
and MongoDB): bodies, query strings, path parameters and the Authorization header, anonymous
and with a registered user's token. No answer may be a 5xx, every 4xx must carry
{"error": {"code", "message"}}, and every answer's status, content type and body must be
ones the document gives its operation.

Each operation gets up to MAX_EXAMPLES generated requests per identity, on top of the
deterministic boundary cases of schemathesis' coverage phase; the run prints how many
requests it sent and what they got.

The tests are generated at collection, before any server runs, from the document the app
serves built the same way (``test_the_fuzzed_document_is_the_one_served`` holds them
equal): schemathesis' lazy loader (``from_fixture``) renames pytest nodes through an
attribute pytest 9 no longer has.
"""
from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from exchange import mongo
from exchange.config import Settings
from exchange.health import KINDS
from orderbook import openapi
from tests.stack import TEST_SECRET_KEY

MAX_EXAMPLES = 20  # generated requests per operation and identity; bounded to fit CI on 2 cores
SYMBOLS = Settings.symbols
FUZZ_USER = ("fuzzer", "correct horse battery")
SENT: Counter = Counter()  # status class -> requests, for the summary


def without_rate_limits(settings: Settings) -> Settings:
    """Every request must reach its handler: each *_rate_limit setting empty (off)."""
    return dataclasses.replace(settings, **{field.name: "" for field in dataclasses.fields(Settings)
                                            if field.name.endswith("rate_limit")})


@pytest.fixture(scope="module")
def fuzz_app(redis_server, mongo_server, request):
    import redis

    from orderbook.app import create_app

    settings = without_rate_limits(Settings(
        redis_url=f"redis://127.0.0.1:{redis_server.port}/0",
        mongo_url=f"mongodb://127.0.0.1:{mongo_server.port}/?directConnection=true",
        mongo_db="t_api_fuzz", secret_key=TEST_SECRET_KEY))
    redis.Redis(port=redis_server.port).flushall()
    app = create_app(settings)
    yield app
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)
    # Past pytest's output capture, so `make test` shows what the run did.
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\nfuzz: MAX_EXAMPLES={MAX_EXAMPLES} per operation and identity; "
              f"{sum(SENT.values())} requests sent, by status: {dict(sorted(SENT.items()))}")


@pytest.fixture(scope="module")
def fuzz_user(fuzz_app) -> str:
    response = fuzz_app.test_client().post("/api/v1/users", json=dict(zip(("username", "password"), FUZZ_USER)))
    assert response.status_code == 201, response.json
    return response.json["user_id"]


def errors_carry_a_code_and_a_message(ctx, response, case) -> None:
    """Every 4xx body is {"error": {"code": "...", "message": "..."}}."""
    degraded = case.path == "/healthz" and response.status_code == 503  # the deep check: this app has no workers
    SENT["503 degraded (deep health)" if degraded else f"{response.status_code // 100}xx"] += 1
    if not 400 <= response.status_code < 500:
        return None
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]
            and isinstance(error.get("message"), str)):
        raise AssertionError(f"{response.status_code} without {{'error': {{'code', 'message'}}}}: "
                             f"{response.text[:300]!r}")
    return None


def no_server_error_but_a_degraded_stack(ctx, response, case) -> None:
    """No 5xx, except the deep health check's 503 "degraded": this app runs without any worker,
    which is what that answer reports."""
    if case.path == "/healthz" and response.status_code == 503 and response.json().get("status") == "degraded":
        assert set(response.json()["unwell"]) == set(KINDS)
        return None
    return not_a_server_error(ctx, response, case)


# Every answer's status is one its operation documents, with the documented content type and schema.
CHECKS = [no_server_error_but_a_degraded_stack, errors_carry_a_code_and_a_message, status_code_conformance,
          content_type_conformance, response_schema_conformance]
# Fuzzing dictionaries: text that int(), str.isdigit(), str.upper() or a store may read otherwise than meant.
NUMBER_LOOKALIKES = ["²", "①", "٣", "１", "𝟘", "Ⅻ", " 5", "+5", "1_0", "5\n", "-0", "0x10", "1e3", "9" * 40]
AWKWARD_TEXT = ["ſ", "ß", "İ", "K\u212a", "KRYP\x00", "../..", "%00", "\ufeff", "$where", "{\"$gt\": \"\"}",
                "a" * 300, "KRYP.", "KRYP.0", "KRYP.99999999999999999999", ".", ":", "\u202e"]
INTEGER_QUERY_PARAMETERS = ("depth", "limit", "start", "end")
schema = schemathesis.openapi.from_dict(openapi.document(SYMBOLS), config=schemathesis.Config.from_dict({
    "dictionaries": {"number-lookalikes": {"values": NUMBER_LOOKALIKES}, "awkward-text": {"values": AWKWARD_TEXT}},
    "parameters": {f"query.{name}": {"dictionary": "number-lookalikes", "probability": 0.3}
                   for name in INTEGER_QUERY_PARAMETERS},
    "generation": {"max-examples": MAX_EXAMPLES,
                   "dictionaries": {"string": {"dictionary": "awkward-text", "probability": 0.2}}},
    "phases": {"stateful": {"enabled": False}},
}))


def test_the_fuzzed_document_is_the_one_served(fuzz_app):
    assert fuzz_app.test_client().get("/api/v1/openapi.json").json == schema.raw_schema


@schema.parametrize()
def test_anonymous_requests(case, fuzz_app):
    case.call_and_validate(app=fuzz_app, checks=CHECKS)


@schema.parametrize()
def test_requests_with_a_users_token(case, fuzz_app, fuzz_user):
    # A fresh token each time: the fuzzer's own DELETE /sessions revokes only the one it sent.
    token = fuzz_app.extensions["exchange"].auth.issue(fuzz_user)
    case.call_and_validate(app=fuzz_app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
