"""`python -m bots swarm` against a real stack, as a subprocess: it trades every symbol, the
ledger checks out afterwards, the leaderboard's values add up, and SIGINT stops it cleanly."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exchange.config import Settings
from exchange.money import format_cents, parse_cents
from exchange.valuation import Holdings
from exchange_client import ExchangeClient
from tests.stack import start_stack
from tests.test_metrics import scrape, total

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "swarm test password"


def swarm_command(stack, *args: str, password: str | None = PASSWORD) -> list[str]:
    return [sys.executable, "-m", "bots", "swarm", "--url", stack.base_url, "--json",
            "--accounts", str(stack.work_dir / "swarm-accounts.json"),
            *(["--password", password] if password else []), *args]


def ledger_check(stack) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_URL": stack.redis_url, "MONGO_URL": stack.mongo_url}
    return subprocess.run([sys.executable, "-m", "ledger", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def user(stack, name: str) -> ExchangeClient:
    client = ExchangeClient(stack.base_url)
    client.register(name, PASSWORD)
    return client


def logged_in(stack, username: str) -> ExchangeClient:
    client = ExchangeClient(stack.base_url)
    client.login(username, PASSWORD)
    return client


@pytest.fixture
def stack():
    with start_stack(replicas=2) as running:
        yield running


def test_a_30_second_swarm_trades_every_symbol_and_the_books_balance(stack, tmp_path):
    # Users who were there before the swarm: they traded, and left orders far from the market.
    alice, bob = user(stack, "alice"), user(stack, "bob")
    issued = Holdings.from_balances(alice.account()["balances"])
    assert Holdings.from_balances(bob.account()["balances"]) == issued
    alice.place_order("KRYP", "sell", 5, price="100.00")
    bob.place_order("KRYP", "buy", 5, price="100.00")
    alice.place_order("ADAM", "sell", 3, price="150.00")
    bob.place_order("PUPS", "buy", 4, price="50.00")
    symbols = [s["symbol"] for s in alice.symbols()]

    started_ms = int(time.time() * 1000)
    with open(tmp_path / "swarm.err", "w") as err:
        done = subprocess.run(swarm_command(stack, "--duration", "30", "--makers", "3", "--traders", "6",
                                            "--seed", "11"),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, timeout=240)
    log = (tmp_path / "swarm.err").read_text()
    assert done.returncode == 0, log[-4000:]
    report = json.loads(done.stdout)
    totals = report["totals"]
    bots = report["leaderboard"]
    assert totals["bots"] == len(bots) == 9 and totals["open_orders_left"] == 0
    assert totals["stopped_by"] == "duration" and totals["duration_s"] >= 30
    assert totals["orders_placed"] > 0 and totals["shares_bought"] == totals["shares_sold"] > 0

    # Trades on every symbol since the swarm started, as the public tape shows them.
    for symbol in symbols:
        tape = alice.trades(symbol, limit=1000)
        assert sum(1 for t in tape if t["time"] >= started_ms) > 0, (symbol, log[-2000:])
        assert report["last_prices"][symbol] == tape[0]["price"]
    # Its bots kept no order open.
    for row in bots:
        assert logged_in(stack, row["username"]).open_orders() == [], row["username"]

    checked = ledger_check(stack)
    assert checked.returncode == 0 and "ledger check: OK" in checked.stdout, checked.stdout + checked.stderr

    # The API replicas' metrics counted every order the swarm placed (and the four above).
    api = [scrape(port) for name, port in stack.metrics.items() if name.startswith("orderbook")]
    assert sum(total(samples, "exchange_orders_total") for samples in api) == totals["orders_placed"] + 4

    # Σ mark-to-market over every account (house included) = what was issued, at the last prices.
    board = alice.leaderboard(limit=10_000)
    prices = {symbol: parse_cents(alice.trades(symbol, limit=1)[0]["price"]) for symbol in symbols}
    names = {row["username"] for row in board if not row["house"]}
    assert names == {"alice", "bob"} | {row["username"] for row in bots}
    assert sum(row["house"] for row in board) == 1
    house = next(row for row in board if row["house"])
    assert parse_cents(house["value"], allow_zero=True) > 0  # the taker fees
    total_value = sum(parse_cents(row["value"], allow_zero=True) for row in board)
    assert total_value == len(names) * issued.value(prices)

    # The swarm's own leaderboard marked its bots exactly as the exchange does.
    exchange_values = {row["username"]: row["value"] for row in board}
    for row in bots:
        assert row["value"] == exchange_values[row["username"]], row
        assert row["start_value"] == format_cents(issued.value(prices))
    assert [row["username"] for row in bots] == sorted(
        (row["username"] for row in bots), key=lambda name: (-parse_cents(exchange_values[name]), name))
    print(f"swarm figures: orders {totals['orders_placed']}, canceled {totals['orders_canceled']}, "
          f"trades {totals['trades']} {totals['trades_by_symbol']}, errors {totals['errors']}, "
          f"duration {totals['duration_s']}s")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_swarm_and_leaves_no_open_orders(stack, tmp_path, signum):
    err_path = tmp_path / "swarm.err"
    with open(err_path, "w") as err:
        swarm = subprocess.Popen(swarm_command(stack, "--duration", "300", "--makers", "3", "--traders", "3",
                                               "--prefix", "sig", "--seed", "3"),
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        # Wait until the makers are quoting, so there is something to cancel.
        deadline = time.monotonic() + 60
        makers = []
        while time.monotonic() < deadline:
            assert swarm.poll() is None, err_path.read_text()[-4000:]
            if "registered" in err_path.read_text():
                makers = makers or [logged_in(stack, f"sig-mm{i}") for i in (1, 2, 3)]
                if all(maker.open_orders() for maker in makers):
                    break
            time.sleep(0.5)
        assert makers and all(maker.open_orders() for maker in makers), err_path.read_text()[-4000:]

        swarm.send_signal(signum)
        out, _ = swarm.communicate(timeout=120)
    finally:
        if swarm.poll() is None:
            swarm.kill()
            swarm.wait()
        swarm.stdout.close()  # a failed wait above must not leave the pipe for the next test's GC
    assert swarm.returncode == 0, err_path.read_text()[-4000:]
    report = json.loads(out)
    assert report["totals"]["stopped_by"] == signum.name and report["totals"]["duration_s"] < 300
    assert report["totals"]["open_orders_left"] == 0
    assert {row["username"] for row in report["leaderboard"]} == {
        "sig-mm1", "sig-mm2", "sig-mm3", "sig-random1", "sig-random2", "sig-random3"}
    for row in report["leaderboard"]:
        assert logged_in(stack, row["username"]).open_orders() == [], row["username"]


def test_the_swarm_reuses_its_accounts_so_it_runs_again_and_again_under_the_registration_limit(tmp_path):
    """Three runs of nine bots against `make up`'s registration limit (20 an hour per address):
    the first registers its bots, the next ones log the same bots in."""
    limit = Settings.registration_rate_limit
    assert limit == "20/hour"
    with start_stack(replicas=1, env={"REGISTRATION_RATE_LIMIT": limit}) as stack:
        bots_by_run = []
        for run in range(3):
            with open(tmp_path / f"swarm{run}.err", "w") as err:
                done = subprocess.run(swarm_command(stack, "--duration", "2", "--makers", "3", "--traders", "6",
                                                    "--seed", str(run), password=None),
                                      cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, timeout=240)
            log = (tmp_path / f"swarm{run}.err").read_text()
            assert done.returncode == 0, log[-4000:]
            assert ("registered 9 and logged in 0" if run == 0 else "registered 0 and logged in 9") in log, log[-2000:]
            bots_by_run.append(sorted(row["username"] for row in json.loads(done.stdout)["leaderboard"]))
        assert len(bots_by_run[0]) == 9 and bots_by_run[0] == bots_by_run[1] == bots_by_run[2]
        accounts = stack.work_dir / "swarm-accounts.json"
        assert accounts.stat().st_mode & 0o777 == 0o600  # it holds the bots' password
        # The limit was on all along: of this hour's 20, the swarm used 9.
        codes = [requests.post(f"{stack.base_url}/api/v1/users", timeout=30,
                               json={"username": f"late{i}", "password": PASSWORD}).status_code for i in range(12)]
        assert codes == [201] * 11 + [429]
