"""One orderbook API replica: ``python -m orderbook.serve --host HOST --port PORT``.

granian's WSGI server runs ``orderbook.app:create_app`` in API_WORKERS processes (2), each
answering on API_THREADS threads (8). A request spends most of its time waiting on Redis (the
hold, the inbox, the reply), so threads suit it, and one process's threads share one matcher
cache per symbol. On the issue's flow (bench/http_orders.py) granian served the order path
1.2-1.3x as fast as gunicorn's gthread worker, for about a fifth less CPU per order; 2 x 8 and
1 x 16 measured alike on two cores, 4 threads a process worse (bench/api_shape.py, and
bench/README.md for the figures). Two processes keep a replica answering while one restarts.

What this process does around granian:
- refuses to start without a fit signing key (a worker failing in create_app would be
  respawned forever);
- logs in the exchange's format: granian's own records go to the root logger, and each
  worker's app writes one access record per request (orderbook/access_log.py);
- metrics: the workers write their samples to a directory of this replica's own
  (prometheus-client's multiprocess mode) and this process serves them summed on METRICS_PORT.

granian closes an idle HTTP/1 connection after 30 s (its header read timeout), so nginx, whose
upstream keepalive_timeout is 1 s, is the one that closes idle upstream connections. SIGTERM
stops the replica gracefully: each worker finishes the requests it has (for up to SHUTDOWN_S)
before it exits. A worker that dies is started again.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile

from flask import Flask
from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.common import AbstractServer

from exchange import logs
from exchange.config import Settings, signing_key

APP = "orderbook.app:create_app"
SERVICE = "orderbook"
SHUTDOWN_S = 10
# granian's own loggers hand their records to the root logger, which logs.configure sets up.
GRANIAN_LOGGING = {"loggers": {name: {"handlers": [], "propagate": True}
                               for name in ("_granian", "granian.access")}}

log = logging.getLogger("orderbook.serve")


def build_app(target: str) -> Flask:
    """In each worker: its logging (tagged with the request id), then the app, access-logged.
    (``target`` is APP, which granian names its processes after; the app is built here.)"""
    from orderbook import request_ids
    from orderbook.access_log import AccessLog
    from orderbook.app import create_app

    settings = Settings.from_env()
    logs.configure(SERVICE, settings, request_id=request_ids.current)
    app = create_app(settings)
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    return app


def serve_metrics(settings: Settings) -> str | None:
    """The workers' multiprocess directory, made before any of them imports prometheus-client,
    and the summed /metrics served from here; None without METRICS_PORT."""
    if not settings.metrics_port:
        return None
    directory = tempfile.mkdtemp(prefix="exchange-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # Not exchange.metrics: importing it here would give this process sample files of its own.
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    except OSError as error:
        log.error("no /metrics: cannot listen on %s:%d (%s)", settings.metrics_host, settings.metrics_port, error)
    return directory


def server(settings: Settings, host: str, port: int) -> AbstractServer:
    return Granian(APP, address=host, port=port, interface=Interfaces.WSGI, workers=settings.api_workers,
                   blocking_threads=settings.api_threads, respawn_failed_workers=True,
                   workers_kill_timeout=SHUTDOWN_S, log_dictconfig=GRANIAN_LOGGING,
                   log_level=LogLevels(settings.log_level.lower()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderbook.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    signing_key(settings.secret_key)
    logs.configure(SERVICE, settings)
    metrics_dir = serve_metrics(settings)
    try:
        server(settings, args.host, args.port).serve(target_loader=build_app)
    finally:  # also when granian fails to start, on a port taken say
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
