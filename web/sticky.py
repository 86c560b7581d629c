"""Sticky routing: every response names the replica that served it in a cookie.

nginx maps the cookie to an upstream whose first server is that replica (the
others are its backups), so a Socket.IO client's long-polling requests and its
websocket upgrade reach the process that holds its session. A request without
the cookie goes round-robin; if the named replica is down, nginx tries a backup,
which answers with its own cookie.
"""
from __future__ import annotations

COOKIE = "exchange_web"


class StickyCookie:
    """WSGI middleware adding ``Set-Cookie: exchange_web=<replica>`` to every response."""

    def __init__(self, wsgi_app, replica: str):
        self.wsgi_app = wsgi_app
        self.header = ("Set-Cookie", f"{COOKIE}={replica}; Path=/; HttpOnly; SameSite=Lax")

    def __call__(self, environ, start_response):
        def start_with_cookie(status, headers, exc_info=None):
            return start_response(status, [*headers, self.header], exc_info)
        return self.wsgi_app(environ, start_with_cookie)
