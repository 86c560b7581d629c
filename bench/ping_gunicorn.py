"""gunicorn settings for the yardstick (bench/ping_app.py): fixed, whatever serves the API.

What the orderbook API ran under when the yardstick was set: gunicorn's gthread worker,
2 processes x 8 threads per replica, keep-alive longer than nginx's, and an access record per
request in the exchange's log format.
"""
worker_class = "gthread"
workers = 2
threads = 8
keepalive = 75
accesslog = "-"
logger_class = "orderbook.access_log.AccessLogger"
graceful_timeout = 10
