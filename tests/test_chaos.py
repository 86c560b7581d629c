"""`python -m devstack chaos`, as a subprocess: a 60-second run with at least 15 faults of
every kind passes every check and leaves no process behind; Ctrl-C stops it all too."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.chaos.schedule import KINDS
from devstack.chaos.stack import leftovers

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("faults injected", "load ran to the end", "settlement caught up", "ledger check",
          "no negative balance", "trades exactly once", "orders answered 2xx are listed",
          "every program running")
SEED = "20251201"  # a fixed plan, so a failure here can be run again as it was


def chaos_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "devstack", "chaos", *args]


def data_dir_of(output: str) -> Path:
    found = re.search(r"^stack: starting in (\S+)$", output, re.M)
    assert found, output
    return Path(found.group(1))


@pytest.mark.timeout(900)
def test_a_60_second_run_with_15_faults_of_every_kind_passes_every_check_and_cleans_up():
    done = subprocess.run(chaos_command("--duration", "60", "--min-faults", "15", "--seed", SEED),
                          cwd=ROOT, capture_output=True, text=True, timeout=840)
    output = done.stdout
    assert done.returncode == 0, output[-8000:] + done.stderr[-2000:]
    assert f"chaos: seed {SEED}" in output
    for name in CHECKS:
        assert re.search(rf"^check {name}: OK", output, re.M), f"{name}:\n{output[-8000:]}"
    assert int(re.search(r"^faults: (\d+) done", output, re.M).group(1)) >= 15
    for kind in KINDS:
        assert re.search(rf"^  {kind}\s+[1-9]", output, re.M), f"no {kind}:\n{output}"
    for program in ("orderbook-", "matcher", "ledger-worker", "ticker", "bot-runner"):
        assert re.search(rf"^\s+[\d.]+ s  kill\s+{program}", output, re.M), f"{program} never killed"
    assert re.search(r"^check orders answered 2xx are listed: OK  [1-9]\d* orders", output, re.M)
    assert output.rstrip().splitlines()[-1].startswith("chaos: PASS")
    data_dir = data_dir_of(output)
    assert not leftovers(data_dir) and not data_dir.exists()


@pytest.mark.timeout(300)
def test_ctrl_c_stops_the_stack_the_swarm_and_every_fault_in_flight():
    proc = subprocess.Popen(chaos_command("--duration", "120", "--seed", SEED), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("load: bot swarm started"):
                break
        time.sleep(8)  # a fault or two in
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=200)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines) + rest
    assert proc.returncode == 130, output
    assert "chaos: interrupted; stopping everything" in output
    data_dir = data_dir_of(output)
    assert not leftovers(data_dir), [p.info["cmdline"] for p in leftovers(data_dir)]
    assert (data_dir / "logs" / "swarm.log").exists()  # an interrupted run keeps its logs
    shutil.rmtree(data_dir)
