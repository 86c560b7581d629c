"""clients/python: installed with pip into a fresh virtualenv, it imports nothing of the server, and
its README's example runs against a real stack. Its Retry-After handling retries only what is safe."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exchange_client import ApiError, ExchangeClient
from tests.stack import start_stack

PACKAGE = Path(__file__).resolve().parent.parent / "clients" / "python"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (PACKAGE / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "the README has one example"
    return blocks[0]


@pytest.mark.timeout(600)
def test_pip_install_into_a_fresh_venv_then_the_readme_example_runs(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                                str(PACKAGE)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # Run from an empty directory: the repository is not on its path, so any import of the
    # server's packages (exchange, orderbook, ...) would fail here.
    example = tmp_path / "example.py"
    example.write_text(readme_example())
    with start_stack(replicas=1, web_replicas=1) as stack:  # a web replica for the example's MarketStream
        ran = subprocess.run([str(python), str(example)], cwd=tmp_path, capture_output=True, text=True,
                             env={"EXCHANGE_URL": stack.base_url, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = ran.stdout.splitlines()
    assert lines[0] == "{'available': '10000.00', 'on_hold': '0.00'}"
    assert lines[1:5] == ["new 5", "3", "canceled", "400 invalid_price"], lines
    modules = subprocess.run([str(python), "-c", "import sys, exchange_client; print(sorted(sys.modules))"],
                             cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert not {"exchange", "orderbook", "ledger", "ticker", "bots"} & set(eval(modules))


def test_retry_after_is_waited_out_only_where_a_retry_is_safe():
    with start_stack(replicas=1, workers=("matcher",), env={"RATE_LIMIT": "3/second",
                                                            "ORDER_RATE_LIMIT": "2/second"}) as stack:
        me = ExchangeClient(stack.base_url)
        me.register("retrier", "correct horse battery")
        started = time.monotonic()
        for _ in range(8):  # reads past 3 a second: each 429 is waited out and retried
            assert me.ticker("KRYP")["symbol"] == "KRYP"
        assert time.monotonic() - started >= 1.0
        placed = [me.place_order("KRYP", "buy", 1, price="1.00") for _ in range(2)]
        refused = pytest.raises(ApiError, me.place_order, "KRYP", "buy", 1, price="1.00").value
        assert (refused.status, refused.code) == (429, "rate_limited") and refused.retry_after is not None
        # With a client order id a repeat cannot place it twice, so the client waits and retries it.
        again = me.place_order("KRYP", "buy", 1, price="1.00", client_order_id="after-the-wait")
        assert again["status"] == "new"
        assert len(me.open_orders("KRYP")) == len(placed) + 1
