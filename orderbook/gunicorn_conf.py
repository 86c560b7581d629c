"""gunicorn settings for one orderbook API replica; the command line gives --bind.

Threads suit this service: a request spends most of its time waiting on Redis
(the hold, the inbox, the reply), and one process's threads share one matcher
cache per symbol. GUNICORN_WORKERS / GUNICORN_THREADS override the defaults.
"""
import os
import shutil
import tempfile

from exchange.config import Settings, signing_key

_settings = Settings.from_env()
# Refuse to start here, in the master: a worker that failed in create_app would be respawned forever.
signing_key(_settings.secret_key)
worker_class = "gthread"
workers = _settings.gunicorn_workers
threads = _settings.gunicorn_threads
# Longer than nginx's upstream keepalive_timeout (nginx/nginx.conf.template),
# so nginx, not gunicorn, closes idle upstream connections.
keepalive = 75
# One access record per request, in the exchange's log format (LOG_FORMAT), with nginx's request id.
accesslog = "-"
logger_class = "orderbook.access_log.AccessLogger"
graceful_timeout = 10


# Metrics (exchange/metrics.py): the workers write their samples to a directory of this replica's
# own, set before any worker imports prometheus-client; the master serves them summed.
if _settings.metrics_port:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="exchange-metrics-")


def when_ready(server) -> None:
    if _settings.metrics_port:
        # Not exchange.metrics: importing it here would give the master sample files of its own.
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(_settings.metrics_port, addr=_settings.metrics_host, registry=registry)


def child_exit(server, worker) -> None:
    if _settings.metrics_port:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _settings.metrics_port:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def post_worker_init(worker) -> None:
    """The app's own log records (errors, warnings) in the same format, tagged with the request id."""
    from exchange import logs
    from orderbook import request_ids

    logs.configure("orderbook", _settings, request_id=request_ids.current)
