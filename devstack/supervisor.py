"""Render the supervisord config that runs every program of the stack.

Each program restarts when it dies, is stopped with its whole process group
(the API's workers, nginx's workers), writes its log to <data>/logs/NAME.log
and sends its output as PROCESS_LOG events to devstack.logprefix, which prints
it on supervisord's stdout with the program's name in front.

Programs inherit supervisord's environment (REDIS_URL, MONGO_URL, ...), which
`python -m devstack up` sets before it execs supervisord; nothing secret is
written into the config.
"""
from __future__ import annotations

import os
import re
import secrets
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# supervisord reads its config with ConfigParser: "%" starts an expansion and
# " ;" or " #" starts an inline comment, even inside quotes.
INLINE_COMMENT = re.compile(r"\s[;#]")


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    priority: int  # started in ascending order, stopped in descending order
    wait_for: tuple[int, ...] = field(default=())  # local ports that must accept connections first
    wait_for_cluster: int | None = None  # a local Redis Cluster node's port: wait until it serves every slot
    oneshot: bool = False  # runs once at start (exit 0 is done), never restarted
    stopwaitsecs: int = 15
    env: dict[str, str] = field(default_factory=dict)  # added to the stack's environment for this program


def config_value(text: str) -> str:
    if INLINE_COMMENT.search(text) or "\n" in text:
        raise ValueError(f"cannot put {text!r} into a supervisord config")
    return text.replace("%", "%%")


def command_line(program: Program) -> str:
    command = program.command
    if program.wait_for or program.wait_for_cluster:
        addresses = [f"127.0.0.1:{port}" for port in program.wait_for]
        if program.wait_for_cluster:
            addresses.insert(0, f"cluster:127.0.0.1:{program.wait_for_cluster}")
        command = [sys.executable, "-m", "devstack.wait", *addresses, "--", *command]
    return config_value(shlex.join(command))


def program_section(program: Program, log_dir: Path) -> str:
    return f"""
[program:{program.name}]
command={command_line(program)}
directory={config_value(str(ROOT))}
priority={program.priority}
autostart=true
autorestart={"unexpected" if program.oneshot else "true"}
startsecs={0 if program.oneshot else 1}
exitcodes=0
startretries=10
stopsignal=TERM
stopwaitsecs={program.stopwaitsecs}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={config_value(str(log_dir / (program.name + ".log")))}
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=2
stdout_events_enabled=true
""" + environment_line(program)


def environment_line(program: Program) -> str:
    """supervisord's ``environment=`` for what this program adds to the stack's environment."""
    if not program.env:
        return ""
    pairs = ",".join(f'{name}="{value}"' for name, value in program.env.items())
    return f"environment={config_value(pairs)}\n"


def render(programs: list[Program], *, run_dir: Path, log_dir: Path) -> str:
    width = max(len(program.name) for program in programs)
    run = config_value(str(run_dir))
    user = "user=root\n" if os.geteuid() == 0 else ""  # else supervisord warns it kept root
    # The control socket is 0700 already; a per-start password only keeps
    # supervisord from logging CRIT about running without authentication.
    password = secrets.token_hex(16)
    head = f"""; Rendered by `python -m devstack up`; edits are lost on the next start.
[supervisord]
nodaemon=true
identifier=exchange
logfile={run}/supervisord.log
logfile_maxbytes=10MB
logfile_backups=2
pidfile={run}/supervisord.pid
childlogdir={config_value(str(log_dir))}
{user}
[unix_http_server]
file={run}/supervisor.sock
chmod=0700
username=devstack
password={password}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{run}/supervisor.sock
username=devstack
password={password}

[eventlistener:logs]
command={config_value(shlex.join([sys.executable, "-m", "devstack.logprefix", str(width)]))}
directory={config_value(str(ROOT))}
events=PROCESS_LOG
buffer_size=10000
priority=1
autorestart=true
stdout_logfile=NONE
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
"""
    return head + "".join(program_section(program, log_dir) for program in programs)
