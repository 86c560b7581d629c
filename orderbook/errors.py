"""API errors: every failure is a JSON body {"error": {"code", "message"}} with a 4xx status."""
from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

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


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
               429: "rate_limited"}


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return jsonify(error_body(err.code, err.message)), err.status

    @app.errorhandler(RecursionError)
    def _too_deep(err: RecursionError):
        # Past Python's recursion limit the JSON decoder raises RecursionError, which neither
        # Werkzeug's get_json(silent=True) nor a ValueError handler catches: a body nested
        # thousands deep is bad input on every endpoint. Without a body it is our own bug.
        if not request.content_length:
            raise err
        return jsonify(error_body("invalid_json", "the request body nests too deeply to parse")), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        code = _HTTP_CODES.get(err.code or 500, "error")
        return jsonify(error_body(code, err.description or code)), err.code
