"""gunicorn's logger in the exchange's log format (exchange/logs.py), with one access record
per request: method, path, status, duration, bytes and the request id, as fields of the
record (JSON) rather than a line to parse."""
from __future__ import annotations

from gunicorn import glogging

from exchange import logs
from exchange.config import Settings

SERVICE = "orderbook"


class AccessLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        log_format = Settings.from_env().log_format
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter(log_format))
                handler.addFilter(logs.ServiceContext(SERVICE))

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = int(str(resp.status).split(None, 1)[0])
        duration_ms = round(request_time.total_seconds() * 1000, 3)
        # The id nginx made (the API echoes it); a request straight to a replica gets the API's own.
        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"),
                          environ.get("HTTP_X_REQUEST_ID"))
        self.access_log.info("%s %s %d %.1f ms", req.method, req.path, status, duration_ms, extra={
            "method": req.method, "path": req.path, "status": status, "duration_ms": duration_ms,
            "bytes": getattr(resp, "sent", None), "request_id": request_id})
