"""One web replica: ``python -m web.server --port 8001 --replica 1``.

Under eventlet (SOCKETIO_ASYNC_MODE, the default) the standard library is
monkey-patched here, before anything else is imported; eventlet is patched
nowhere else, and nothing the web tier imports uses pymongo.
"""
from exchange.config import settings  # reads only the environment: safe before patching

if settings().socketio_async_mode == "eventlet":
    import warnings

    warnings.filterwarnings("ignore", message="\nEventlet is deprecated")  # it is maintained; we chose it
    import eventlet

    eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from exchange import logs, metrics  # noqa: E402
from web.app import create_app  # noqa: E402

log = logging.getLogger("web.server")

MAX_CLIENTS = 10_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--replica", default="1", help="this replica's name, set in the sticky cookie")
    args = parser.parse_args(argv)
    current = settings()
    logs.configure(f"web-{args.replica}", current)
    metrics.serve(current.metrics_port, current.metrics_host)
    web = create_app(current, replica=args.replica)
    web.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("web replica %s (%s) on %s:%d", args.replica, current.socketio_async_mode, args.host, args.port)
    if current.socketio_async_mode == "eventlet":
        # eventlet's server serves at most 1024 connections at once by default; a
        # live client holds one (a green thread) for as long as it stays.
        web.socketio.run(web.app, host=args.host, port=args.port, log_output=False, max_size=MAX_CLIENTS)
    else:
        web.socketio.run(web.app, host=args.host, port=args.port, log_output=False, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
