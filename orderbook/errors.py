"""API errors: every failure is a JSON body {"error": {"code", "message"}} with a 4xx status."""
from __future__ import annotations

import logging

import pymongo.errors
from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from exchange import redis_client


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After on a 429

    def as_record(self) -> dict:
        """The refusal as stored, e.g. as a client order id's answer."""
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}

    @classmethod
    def from_record(cls, record: dict) -> "ApiError":
        error = record["error"]
        return cls(error["status"], error["code"], error["message"])


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str = "no such resource") -> ApiError:
    return ApiError(404, "not_found", message)


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


log = logging.getLogger("orderbook.errors")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
               429: "rate_limited"}


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        g.error_headers = err.headers
        return jsonify(error_body(err.code, err.message)), err.status, err.headers

    @app.after_request
    def _keep_error_headers(response):
        # Flask-Limiter sets Retry-After on every response from its own windows (its hook,
        # registered after this one, runs before it): an error that names its own wins.
        response.headers.update(g.pop("error_headers", {}))
        return response

    @app.errorhandler(RecursionError)
    def _too_deep(err: RecursionError):
        # Past Python's recursion limit the JSON decoder raises RecursionError, which neither
        # Werkzeug's get_json(silent=True) nor a ValueError handler catches: a body nested
        # thousands deep is bad input on every endpoint. Without a body it is our own bug.
        if not request.content_length:
            raise err
        return jsonify(error_body("invalid_json", "the request body nests too deeply to parse")), 400

    @app.errorhandler(pymongo.errors.ConnectionFailure)
    def _store_unavailable(err: Exception):
        # A data store restarting or away is the exchange's trouble, not the request's: a
        # transient 503 the client may retry, with the error body every answer has. An order
        # that was held but not queued when it happened is voided by reconciliation.
        log.warning("data store unavailable on %s %s: %s", request.method, request.path, err)
        body = error_body("unavailable", "a data store is unavailable (restarting?); retry shortly")
        return jsonify(body), 503, {"Retry-After": "1"}

    for unavailable in redis_client.UNAVAILABLE:
        app.register_error_handler(unavailable, _store_unavailable)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        code = _HTTP_CODES.get(err.code or 500, "error")
        return jsonify(error_body(code, err.description or code)), err.code
