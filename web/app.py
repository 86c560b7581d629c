"""The web tier's Flask app: Socket.IO market data and private order events, the page.

``create_app(settings, replica)`` builds the app, its SocketIO server (Redis
message queue, eventlet or threading) and the symbols' journal feeds; the
caller starts the feeds and the signed-in sockets' token rechecks once the
server runs (``web.server``). No MongoDB here: tokens are checked against
Redis alone (``exchange.tokens``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, jsonify, request
from flask_socketio import ConnectionRefusedError, SocketIO, join_room, leave_room

from exchange import redis_client, rooms
from exchange.config import Settings
from exchange.metrics import WEB_CLIENTS, WEB_SUBSCRIPTIONS
from exchange.tokens import TokenError, Tokens
from web import pages
from web.feeds import Feeds
from web.sessions import RECHECK_S, EndedSession, SignedInSockets
from web.sticky import StickyCookie
from web.subscriptions import SubscriptionError, parse
from web.throttle import SubscribeThrottle

log = logging.getLogger("web")


@dataclass
class WebApp:
    app: Flask
    socketio: SocketIO
    feeds: Feeds
    signed_in: SignedInSockets

    def start(self) -> None:
        """The journal feeds, and the loop that ends sockets whose token was revoked or expired."""
        self.feeds.start(self.socketio.start_background_task)
        self.socketio.start_background_task(self._recheck_tokens)

    def _recheck_tokens(self) -> None:
        while True:
            self.socketio.sleep(RECHECK_S)
            try:
                for session in self.signed_in.ended():
                    self._end(session)
            except Exception:  # noqa: BLE001 - a Redis hiccup must not end the rechecks
                log.exception("rechecking the signed-in sockets' tokens failed")

    def _end(self, session: EndedSession) -> None:
        server = self.socketio.server
        server.leave_room(session.sid, rooms.user(session.user_id), namespace="/")  # no more private events
        self.socketio.emit("session_ended", {"code": session.error.code, "message": session.error.message},
                           to=session.sid, ignore_queue=True)
        server.disconnect(session.sid, namespace="/", ignore_queue=True)


def sent_by_the_client(socketio: SocketIO) -> bool:
    """Whether this "connect" or "disconnect" is a connected client's own event of that name,
    which Socket.IO hands to the same handler; the real ones run while the socket is still
    connecting or already leaving."""
    return socketio.server.manager.is_connected(request.sid, "/")


def create_app(settings: Settings, replica: str = "1") -> WebApp:
    app = Flask(__name__, static_folder=None)  # pages.blueprint serves /static itself
    client = redis_client.connect(settings)
    # The replicas' message queue is Redis pub/sub, over a plain connection even to a cluster:
    # every replica subscribes on REDIS_URL's node, and a cluster carries a PUBLISH to every node.
    socketio = SocketIO(app, async_mode=settings.socketio_async_mode, manage_session=False,
                        message_queue=settings.redis_url, channel=rooms.QUEUE_CHANNEL)

    def emit_here(event: str, payload: dict, to: str) -> None:
        socketio.emit(event, payload, to=to, ignore_queue=True)

    def enter_room(sid: str, room: str) -> None:
        socketio.server.enter_room(sid, room, namespace="/")

    def watched(room: str | None) -> bool:
        """Whether a client of this replica is in ``room`` (python-socketio's own room table, where
        every connected client is in the room None)."""
        return bool(socketio.server.manager.rooms.get("/", {}).get(room))

    def anyone_connected() -> bool:
        return watched(None)

    feeds = Feeds(client, settings.symbols, emit_here, enter_room, watched, anyone_connected)
    signed_in = SignedInSockets(Tokens(settings, client))
    _session_events(socketio, signed_in, feeds, emit_here, settings, replica)
    _subscription_events(socketio, feeds, emit_here, settings)
    _healthz(app, feeds, replica)
    app.register_blueprint(pages.blueprint)
    app.wsgi_app = StickyCookie(app.wsgi_app, replica)
    return WebApp(app, socketio, feeds, signed_in)


def _session_events(socketio: SocketIO, signed_in: SignedInSockets, feeds: Feeds, emit_here,
                    settings: Settings, replica: str) -> None:
    @socketio.on("connect")
    def connect(auth):
        """Anonymous, or with ``auth: {token}`` for private ``order`` events. A bad
        token refuses the connection: the client's connect_error carries
        ``{message, data: {code, message}}``."""
        if sent_by_the_client(socketio):
            return  # else a socket could swap the token its rechecks watch and keep its old user's room
        try:
            user_id = signed_in.connect(request.sid, auth)
        except TokenError as error:
            raise ConnectionRefusedError(error.message, {"code": error.code, "message": error.message}) from None
        if user_id is not None:
            join_room(rooms.user(user_id))
        try:
            feeds.follow()  # a replica nobody was connected to read no journal: its books reload now
        except Exception as error:  # noqa: BLE001 - the socket is still welcome (not refused: the
            # page takes a refusal for a bad session). The feeds not reloaded are out of sync, so a
            # subscribe reloads its book itself, and the reader tries again within a second.
            log.warning("resuming the journal feeds failed (the reader tries again): %r", error)
        WEB_CLIENTS.inc()
        emit_here("hello", {"replica": replica, "user_id": user_id, "symbols": list(settings.symbols)}, request.sid)

    @socketio.on("disconnect")
    def disconnect(*_reason):
        if sent_by_the_client(socketio):
            return  # else the socket would leave the rechecks and keep its user's room
        signed_in.remove(request.sid)
        WEB_CLIENTS.dec()

    @socketio.on_error_default
    def unexpected(error):
        # Never a traceback to the client, and never a dropped connection.
        log.exception("socket.io handler failed")
        emit_here("error", {"code": "internal_error", "message": "the server could not handle that event"},
                  request.sid)


def _subscription_events(socketio: SocketIO, feeds: Feeds, emit_here, settings: Settings) -> None:
    subscribe_throttle = SubscribeThrottle()

    def parsed(data) -> tuple[str, tuple[str, ...]] | None:
        """(symbol, channels) of a (un)subscribe payload, or None after telling the client why not."""
        try:
            return parse(data, settings.symbols)
        except SubscriptionError as error:
            emit_here("error", error.payload(), request.sid)
            return None

    @socketio.on("subscribe")
    def subscribe(data=None):
        if not subscribe_throttle.allow(request.sid):  # the connection stays; the client may retry
            emit_here("error", subscribe_throttle.error(), request.sid)
            return
        wanted = parsed(data)
        if wanted is None:
            return
        symbol, channels = wanted
        for channel in channels:
            WEB_SUBSCRIPTIONS.labels(channel).inc()
            if channel == "book":
                feeds.by_symbol[symbol].subscribe(request.sid)  # snapshot, then updates
            else:
                join_room(rooms.channel(symbol, channel))
        emit_here("subscribed", {"symbol": symbol, "channels": list(channels)}, request.sid)

    @socketio.on("unsubscribe")
    def unsubscribe(data=None):
        wanted = parsed(data)
        if wanted is None:
            return
        symbol, channels = wanted
        for channel in channels:
            leave_room(rooms.channel(symbol, channel))
        emit_here("unsubscribed", {"symbol": symbol, "channels": list(channels)}, request.sid)


def _healthz(app: Flask, feeds: Feeds, replica: str) -> None:
    @app.get("/healthz")
    def healthz():
        unhealthy = feeds.unhealthy()
        body = {"status": "degraded" if unhealthy else "ok", "service": "web", "replica": replica,
                "following": feeds.following(), "sequences": feeds.sequences()}
        if unhealthy:  # a dead or failing feed means stale books for this replica's clients
            return jsonify({**body, "unhealthy_feeds": unhealthy}), 503
        return jsonify(body)
