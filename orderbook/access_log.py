"""One access record per request in the exchange's log format (exchange/logs.py): method, path,
status, duration, bytes and the request id, as fields of the record (JSON) rather than a line
to parse.

A WSGI middleware, so the record is the app's own whatever server runs it (orderbook/serve.py
turns the server's own access log off). No answer of this API streams: the middleware reads the
whole body, so the record has its exact size and the server gets a list, which granian sends in
one write. The duration runs from the call to the body's last byte.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from orderbook import request_ids

log = logging.getLogger("orderbook.access")
log.setLevel(logging.INFO)  # a record per request whatever LOG_LEVEL says, as a server's access log

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class AccessLog:
    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        answered: dict = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            answered["status"] = int(status.split(None, 1)[0])
            answered["request_id"] = next((value for name, value in headers
                                           if name.lower() == request_ids.HEADER.lower()), None)
            return start_response(status, headers, exc_info)

        body: Iterable[bytes] = ()
        sent = 0
        try:
            body = self.app(environ, start)
            chunks = list(body)
            sent = sum(map(len, chunks))
        finally:
            if hasattr(body, "close"):
                body.close()
            self._record(environ, answered, sent, started)
        return chunks

    @staticmethod
    def _record(environ: dict, answered: dict, sent: int, started: float) -> None:
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        status = answered.get("status", 500)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        # The id nginx made (the API echoes it); a request straight to a replica gets the API's own.
        request_id = answered.get("request_id") or environ.get("HTTP_X_REQUEST_ID")
        log.info("%s %s %d %.1f ms", method, path, status, duration_ms, extra={
            "method": method, "path": path, "status": status, "duration_ms": duration_ms, "bytes": sent,
            "request_id": request_id})
