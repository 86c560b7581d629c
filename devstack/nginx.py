"""Render nginx/nginx.conf.template and build nginx's command line.

`make up` and tests/stack.py both go through here, so the tests exercise the
same nginx config as the running stack. The template uses envsubst-style
``${NAME}`` placeholders so docker-compose's nginx image can render it too.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from devstack import binaries

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "nginx" / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
MIN_VERSION_FOR_E_FLAG = (1, 19, 5)  # `nginx -e stderr`


def upstream_servers(addresses: list[str]) -> str:
    """``server host:port max_fails=0;`` lines for an upstream block.

    max_fails=0: a refused connection (a replica still starting, or restarting
    under supervisord) sends the request on to the next replica, but never takes
    a replica out of rotation for fail_timeout, which right after start-up left
    every replica "down" and answered 502 for ten seconds."""
    return "\n        ".join(f"server {address} max_fails=0;" for address in addresses)


# With no web replica (tests of the API alone), "web" still has to exist: one
# server marked down, so the page and /socket.io/ answer 502 at once.
NO_WEB_SERVER = "127.0.0.1:9"


def web_upstreams(addresses: list[str]) -> str:
    """Upstream "web" over every web replica (requests without the sticky cookie),
    and per replica n, "web_n": replica n first, the others as its backups."""
    if not addresses:
        return f"upstream web {{ server {NO_WEB_SERVER} down; }}"
    blocks = [f"upstream web {{\n        {upstream_servers(addresses)}\n    }}"]
    for number, address in enumerate(addresses, start=1):
        lines = [f"server {address} max_fails=0;"]
        lines += [f"server {other} max_fails=0 backup;" for other in addresses if other != address]
        blocks.append(f"upstream web_{number} {{\n        " + "\n        ".join(lines) + "\n    }")
    return "\n    ".join(blocks)


def web_routes(count: int) -> str:
    """Map lines: sticky-cookie value n -> upstream web_n."""
    return "\n        ".join(f"{number} web_{number};" for number in range(1, count + 1))


def render(*, listen: str, run_dir: Path, orderbook: list[str], web: list[str] = (),
           template: Path = TEMPLATE) -> str:
    """``web``: the web replicas' addresses, replica 1 first (the sticky cookie names them 1..N)."""
    values = {
        "NGINX_LISTEN": listen,
        "NGINX_RUN_DIR": str(run_dir),
        "NGINX_RESOLVER": "",  # fixed 127.0.0.1 addresses
        "ORDERBOOK_SERVERS": upstream_servers(orderbook),
        "WEB_UPSTREAMS": web_upstreams(list(web)),
        "WEB_ROUTES": web_routes(len(web)),
    }

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{template} uses ${{{name}}}, which devstack does not fill in")
        return values[name]

    return PLACEHOLDER.sub(substitute, template.read_text())


def write_conf(run_dir: Path, *, listen: str, orderbook: list[str], web: list[str] = ()) -> Path:
    """Write nginx.conf into run_dir (nginx's prefix, pid and temp dirs live there too)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "nginx.conf"
    conf.write_text(render(listen=listen, run_dir=run_dir, orderbook=orderbook, web=web))
    return conf


def version(nginx: str) -> tuple[int, ...]:
    # `nginx -v` prints "nginx version: nginx/1.22.1" on stderr.
    out = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in found.groups()) if found else (0, 0, 0)


def command(conf: Path, *, test_only: bool = False) -> list[str]:
    """nginx in the foreground with its prefix in the conf's dir, never /var/lib/nginx."""
    nginx = binaries.nginx()
    args = [nginx, "-p", f"{conf.parent}/", "-c", str(conf)]
    if version(nginx) >= MIN_VERSION_FOR_E_FLAG:
        # The error log before the config is read; else a non-root nginx
        # complains it cannot open /var/log/nginx/error.log.
        args += ["-e", "stderr"]
    if test_only:
        return args + ["-t", "-q"]
    return args + ["-g", "daemon off;"]


def check(conf: Path) -> None:
    """Fail with nginx's own message if the rendered config is invalid."""
    result = subprocess.run(command(conf, test_only=True), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"nginx rejected {conf}:\n{result.stderr.strip()}")
