"""Placeholder gunicorn settings for the orderbook API, until the API owner writes the real ones.

The command line gives --bind; everything else lives here.
"""
worker_class = "gthread"
workers = 2
threads = 8
# Longer than nginx's upstream keepalive_timeout (nginx/nginx.conf.template),
# so nginx, not gunicorn, closes idle upstream connections.
keepalive = 75
