"""The harness's own child processes: the bot swarm that is the load, and the reconciles
a fault starts in the background. Each runs in its own session with its output in the
stack's log dir; stop_all() ends whichever are still running.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.up import ROOT

STOP_WAIT_S = 30.0  # the swarm cancels its bots' orders when told to stop


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    stdout_path: Path | None = None


@dataclass
class Outcome:
    """How a child ended: its exit status (None: it had to be killed) and its output."""
    returncode: int | None
    stdout: str
    log: str


class Children:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Child] = []

    def start(self, name: str, args: list[str], env: dict[str, str], capture_stdout: bool = False) -> Child:
        log_path = self.log_dir / f"{name}.log"
        stdout_path = self.log_dir / f"{name}.out" if capture_stdout else None
        with open(log_path, "ab") as log, open(stdout_path or os.devnull, "ab") as out:
            popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out if capture_stdout else log,
                                     stderr=log, start_new_session=True)
        child = Child(name, popen, log_path, stdout_path)
        self.started.append(child)
        return child

    def swarm(self, url: str, duration_s: float, seed: int, record: Path, env: dict[str, str]) -> Child:
        """The load: the default swarm of makers and traders, recording every order answered 2xx."""
        args = [sys.executable, "-m", "bots", "swarm", "--url", url, "--duration", f"{duration_s:g}",
                "--seed", str(seed), "--record", str(record), "--json"]
        return self.start("swarm", args, env, capture_stdout=True)

    def reconcile(self, env: dict[str, str]) -> subprocess.Popen:
        number = sum(child.name.startswith("reconcile") for child in self.started) + 1
        args = [sys.executable, "-m", "ledger", "reconcile", "--grace-ms", "0"]
        return self.start(f"reconcile-{number}", args, env).popen

    def reconciles(self) -> list[Child]:
        return [child for child in self.started if child.name.startswith("reconcile")]

    def wait(self, child: Child, timeout_s: float) -> Outcome:
        """Wait for a child to end; past the timeout it is stopped, and its status is None."""
        try:
            returncode = child.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            stop(child.popen)
            returncode = None
        stdout = child.stdout_path.read_text(errors="replace") if child.stdout_path else ""
        return Outcome(returncode, stdout, child.log_path.read_text(errors="replace"))

    def stop_all(self) -> None:
        for child in self.started:
            stop(child.popen)


def stop(popen: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, SIGKILL if it is still there after STOP_WAIT_S."""
    if popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, signal.SIGTERM)
        popen.wait(STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
    except ProcessLookupError:
        pass


def swarm_totals(outcome: Outcome) -> dict:
    """The swarm's final figures (its --json output), {} if it printed none."""
    try:
        return json.loads(outcome.stdout).get("totals", {})
    except ValueError:
        return {}
