"""gunicorn settings for one orderbook API replica; the command line gives --bind.

Threads suit this service: a request spends most of its time waiting on Redis
(the hold, the inbox, the reply), and one process's threads share one matcher
cache per symbol. GUNICORN_WORKERS / GUNICORN_THREADS override the defaults.
"""
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


def post_worker_init(worker) -> None:
    """The app's own log records (errors, warnings) in the same format, tagged with the request id."""
    from exchange import logs
    from orderbook import request_ids

    logs.configure("orderbook", _settings, request_id=request_ids.current)
