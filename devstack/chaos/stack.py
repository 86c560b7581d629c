"""The whole exchange as `make up` runs it (devstack's supervisord config), started in a
fresh temporary data dir on free ports with its own SECRET_KEY, for a chaos run.

Programs are found, stopped and started through supervisord's own XML-RPC interface
(the one supervisorctl uses). stop() ends every process of the stack, whatever state
the run left it in: paused programs are resumed first, and anything still running
from the data dir after supervisord is gone is killed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from supervisor.options import ClientOptions

from devstack import programs
from devstack.config import StackConfig
from devstack.procs import free_port
from devstack.up import ROOT, Layout, prepare, supervisord_command

# Each program supervisord runs leads its own process group (it calls setpgrp), so a
# signal to the group reaches the API's and nginx's workers too.
STOP_TIMEOUT_S = 90.0  # supervisord stops programs in turn, each within its stopwaitsecs
RUNNING = "RUNNING"


def stack_environment(data_dir: Path) -> dict[str, str]:
    """This shell's environment, pointed at a fresh data dir with local Redis and MongoDB
    (the run restarts them) and a key of its own. Registrations are not rate limited:
    the swarm registers all its bots from one address."""
    return {**os.environ, "EXCHANGE_DATA_DIR": str(data_dir), "EXCHANGE_PORT": str(free_port()),
            "REDIS_URL": "", "MONGO_URL": "", "SECRET_KEY": "", "REGISTRATION_RATE_LIMIT": ""}


@dataclass
class ChaosStack:
    layout: Layout
    conf: Path
    env: dict[str, str]  # every program's environment (the stack's URLs, its key)
    program_names: list[str]
    base_url: str
    supervisord: subprocess.Popen | None = None
    paused: set[int] = field(default_factory=set)  # process groups a fault has stopped
    stopping: threading.Event = field(default_factory=threading.Event)  # set once stop() begins

    @classmethod
    def create(cls) -> "ChaosStack":
        data_dir = Path(tempfile.mkdtemp(prefix="exchange-chaos-"))
        env = stack_environment(data_dir)
        config = StackConfig.from_env(env)
        layout = Layout(config.data_dir)
        try:
            conf, stack, plan_env, _chosen = prepare(config, layout)
        except BaseException:  # nginx missing, a bad setting: nothing ran, leave nothing behind
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
        return cls(layout, conf, {**env, **plan_env}, [program.name for program in stack],
                   f"http://127.0.0.1:{config.exchange_port}")

    @property
    def data_dir(self) -> Path:
        return self.layout.data_dir

    def api_replicas(self) -> list[str]:
        return [name for name in self.program_names if name.startswith("orderbook-")]

    # ---- supervisord ------------------------------------------------------------------

    def start(self, timeout_s: float = 120.0) -> None:
        log = open(self.layout.logs / "supervisord.out", "ab")
        self.supervisord = subprocess.Popen(supervisord_command(self.conf), cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.wait_ready(timeout_s)

    def rpc(self):
        """supervisord's XML-RPC interface (a fresh proxy: one is not safe to share)."""
        options = ClientOptions()
        options.realize(["-c", str(self.conf)])
        return options.getServerProxy().supervisor

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.supervisord.poll() is not None:
                raise RuntimeError(f"supervisord exited with {self.supervisord.returncode}: see {self.layout.logs}")
            if not self.not_running() and self.healthy():
                return
            time.sleep(0.5)
        raise TimeoutError(f"the stack was not up after {timeout_s:.0f} s: {self.not_running() or 'unhealthy'}")

    def healthy(self) -> bool:
        try:
            return requests.get(self.base_url + programs.HEALTHZ_PATH, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def states(self) -> dict[str, dict]:
        """Every program's supervisord state, {} while supervisord does not answer."""
        try:
            return {info["name"]: info for info in self.rpc().getAllProcessInfo()}
        except (OSError, xmlrpc.client.Error):
            return {}

    def not_running(self) -> dict[str, str]:
        """Programs that are not RUNNING, with their state."""
        states = self.states()
        if not states:
            return {"supervisord": "not answering"}
        return {name: info["statename"] for name, info in states.items() if info["statename"] != RUNNING}

    def running_pid(self, name: str, timeout_s: float = 30.0) -> int:
        """The pid of a program once it is RUNNING (it may be restarting after an earlier fault)."""
        deadline = time.monotonic() + timeout_s
        while True:
            info = self.rpc().getProcessInfo(name)
            if info["statename"] == RUNNING and info["pid"]:
                return info["pid"]
            if info["statename"] == "FATAL" or time.monotonic() > deadline:
                raise RuntimeError(f"{name} is {info['statename']}, not running")
            time.sleep(0.2)

    # ---- signals ----------------------------------------------------------------------

    def signal_group(self, pid: int, sig: int) -> None:
        """A signal to a program's process group. A SIGCONT to a group that is gone (stop()
        ended it meanwhile) is no error."""
        if sig == signal.SIGSTOP:
            self.paused.add(pid)
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            if sig != signal.SIGCONT:
                raise
        if sig in (signal.SIGCONT, signal.SIGKILL):
            self.paused.discard(pid)

    # ---- the end ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything the stack started; safe to call more than once, or after a failure."""
        self.stopping.set()  # faults still running end their holds now and start nothing
        for pid in list(self.paused):
            _signal_quietly(lambda: os.killpg(pid, signal.SIGCONT))
        self.paused.clear()
        if self.supervisord is not None and self.supervisord.poll() is None:
            self.supervisord.terminate()  # it stops every program, front door first, data stores last
            try:
                self.supervisord.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.supervisord.kill()
                self.supervisord.wait()
        for proc in leftovers(self.data_dir):
            _signal_quietly(lambda: (proc.resume(), proc.kill()))

    def remove(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)


def leftovers(data_dir: Path) -> list[psutil.Process]:
    """Processes still running for this data dir: started with it in their environment
    (every program and the harness's children) or on their command line (nginx's workers)."""
    marker = str(data_dir)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
        if proc.pid == os.getpid():
            continue
        environ = proc.info["environ"] or {}
        if environ.get("EXCHANGE_DATA_DIR") == marker or any(marker in part for part in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def _signal_quietly(send) -> None:
    try:
        send()
    except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
        pass
