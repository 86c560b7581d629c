"""The request id: nginx's ``X-Request-Id`` (or one made here for a request that came another
way), kept for the request's log records and echoed back in the response's ``X-Request-Id``."""
from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-Id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,64}")  # nginx's $request_id is 32 hex digits


def init_app(app: Flask) -> None:
    @app.before_request
    def _take_request_id() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _ACCEPTED.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        response.headers[HEADER] = current() or uuid.uuid4().hex
        return response


def current() -> str | None:
    """The id of the request being handled, if any (for log records)."""
    return g.get("request_id") if has_request_context() else None
