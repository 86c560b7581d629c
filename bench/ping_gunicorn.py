"""gunicorn settings for the yardstick (bench/ping_app.py): fixed, whatever serves the API.

What the orderbook API ran under when the yardstick was set: gunicorn's gthread worker,
2 processes x 8 threads per replica, keep-alive longer than nginx's, and an access record per
request in the exchange's log format (the logger below).
"""
from gunicorn import glogging

from exchange import logs
from exchange.config import Settings

worker_class = "gthread"
workers = 2
threads = 8
keepalive = 75
accesslog = "-"
graceful_timeout = 10


class AccessLogger(glogging.Logger):
    """gunicorn's access record in the exchange's log format, with the request id."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter(Settings.from_env().log_format))
                handler.addFilter(logs.ServiceContext("ping"))

    def access(self, resp, req, environ, request_time) -> None:
        status = int(str(resp.status).split(None, 1)[0])
        duration_ms = round(request_time.total_seconds() * 1000, 3)
        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"),
                          environ.get("HTTP_X_REQUEST_ID"))
        self.access_log.info("%s %s %d %.1f ms", req.method, req.path, status, duration_ms, extra={
            "method": req.method, "path": req.path, "status": status, "duration_ms": duration_ms,
            "bytes": getattr(resp, "sent", None), "request_id": request_id})


logger_class = AccessLogger
