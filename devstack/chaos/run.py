"""One chaos run: start the stack, load it with the swarm while faults happen, let it
settle, check, print the report, stop everything (also on Ctrl-C, SIGTERM or a failure).
"""
from __future__ import annotations

import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import redis
from rich.console import Console
from rich.markup import escape

from bots.record import read_orders
from devstack.chaos import checks
from devstack.chaos.checks import CheckResult
from devstack.chaos.faults import FaultResult, FaultRunner, Injector, pause_lengths
from devstack.chaos.load import Children, Outcome, swarm_totals
from devstack.chaos.schedule import KINDS, plan
from devstack.chaos.stack import ChaosStack
from exchange import mongo
from exchange.config import Settings

SWARM_END_S = 300.0  # after its duration the swarm cancels its orders and waits for their holds
RECONCILE_END_S = 120.0


@dataclass(frozen=True)
class ChaosOptions:
    duration_s: float
    seed: int
    min_faults: int
    keep: bool = False  # keep the data dir (logs, stores) even when every check passes


def _interrupted(_signum, _frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the run the way Ctrl-C does: through the cleanup


def chaos(options: ChaosOptions, console: Console) -> int:
    """0 when every check passed, 1 when one failed or the run could not finish, 130 on Ctrl-C."""
    previous = signal.signal(signal.SIGTERM, _interrupted)
    stack, children, passed = None, None, False
    try:
        console.print(f"chaos: seed {options.seed}, {options.duration_s:g} s of load, "
                      f"at least {options.min_faults} faults")
        stack = ChaosStack.create()
        children = Children(stack.layout.logs)
        passed = run(options, stack, children, console)
        return 0 if passed else 1
    except KeyboardInterrupt:
        console.print("chaos: interrupted; stopping everything")
        return 130
    except Exception as error:  # the harness itself failed: say so, and still clean up
        traceback.print_exc()
        console.print(f"chaos: the run failed: {escape(repr(error))}")
        return 1
    finally:
        if children is not None:
            children.stop_all()
        if stack is not None:
            stack.stop()
            if passed and not options.keep:
                stack.remove()
            else:
                console.print(f"chaos: logs and data kept in {stack.data_dir}")
        signal.signal(signal.SIGTERM, previous)


def run(options: ChaosOptions, stack: ChaosStack, children: Children, console: Console) -> bool:
    settings = Settings.from_env(stack.env)
    faults = plan(options.seed, options.duration_s, options.min_faults, stack.api_replicas(),
                  pause_lengths(settings, stack.api_replicas()))
    started = time.monotonic()
    console.print(f"stack: starting in {stack.data_dir}")
    stack.start()
    console.print(f"stack: up in {time.monotonic() - started:.1f} s at {stack.base_url} "
                  f"({', '.join(stack.program_names)})")
    record = stack.layout.logs / "orders-answered.jsonl"
    swarm = children.swarm(stack.base_url, options.duration_s, options.seed, record, stack.env)
    console.print(f"load: bot swarm started; {len(faults)} faults planned")
    runner = FaultRunner(Injector(stack, children), lambda result: console.print(fault_line(result)))
    done = runner.run(faults, time.monotonic(), options.duration_s)
    swarm_outcome = children.wait(swarm, options.duration_s + SWARM_END_S)
    reconciles = [children.wait(child, RECONCILE_END_S) for child in children.reconciles()]
    print_what_happened(done, swarm_outcome, reconciles, console)

    results = final_checks(stack, settings, record, [faults_check(done, options.min_faults),
                                                     load_check(swarm_outcome)])
    for result in results:
        verdict = "[green]OK[/green]" if result.ok else "[red]FAIL[/red]"
        console.print(f"check {result.name}: {verdict}  {escape(result.detail)}")
    failed = [result.name for result in results if not result.ok]
    console.print(f"chaos: {'FAIL (' + ', '.join(failed) + ')' if failed else 'PASS'} "
                  f"(seed {options.seed}, {time.monotonic() - started:.0f} s in all)")
    return not failed


def final_checks(stack: ChaosStack, settings: Settings, record: Path,
                 results: list[CheckResult]) -> list[CheckResult]:
    """Wait for settlement, then every check; one that cannot run (a store does not
    answer) fails with the reason instead of ending the run."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    db = mongo.database(stack.env["MONGO_URL"], settings.mongo_db)
    settled_s, lag = checks.wait_for_settlement(client, db, settings.symbols)
    results.append(CheckResult("settlement caught up", not lag,
                               "; ".join([f"in {settled_s:.1f} s", *lag])))
    named = [("ledger check", lambda: checks.ledger_check(stack.env)),
             ("no negative balance", lambda: checks.no_negative_balance(client, db)),
             ("trades exactly once", lambda: checks.trades_exactly_once(client, db, settings.symbols)),
             ("orders answered 2xx are listed",
              lambda: checks.orders_listed(stack.base_url, read_orders(record) if record.exists() else [])),
             ("every program running", lambda: programs_check(stack))]
    for name, check in named:
        try:
            results.append(check())
        except Exception as error:  # a check that cannot run has failed; the others still run
            results.append(CheckResult(name, False, f"could not check: {error!r}"))
    client.close()
    return results


def fault_line(result: FaultResult) -> str:
    fault = result.fault
    return f"  {result.started_s:7.1f} s  {fault.kind:<14}{fault.target or '':<15}{escape(result.detail)}"


def print_what_happened(done: list[FaultResult], swarm: Outcome, reconciles: list[Outcome],
                        console: Console) -> None:
    console.print(f"faults: {sum(result.done for result in done)} done of {len(done)} planned")
    for kind in KINDS:
        of_kind = [result for result in done if result.fault.kind == kind and result.done]
        times = ", ".join(f"{result.fault.target + ' ' if result.fault.target else ''}{result.started_s:.1f}s"
                          for result in of_kind)
        console.print(f"  {kind:<14}{len(of_kind):>3}  {times}")
    totals = swarm_totals(swarm)
    errors = ", ".join(f"{code} {n}" for code, n in sorted(totals.get("errors", {}).items())) or "none"
    console.print(f"load: {totals.get('bots', '?')} bots, {totals.get('orders_placed', '?')} orders placed, "
                  f"{totals.get('trades', '?')} trades on the tape; errors the bots saw: {escape(errors)}")
    lines = [line for outcome in reconciles for line in outcome.log.splitlines()]
    voided, kept = (sum(line.startswith(word) for line in lines) for word in ("voided ", "kept "))
    console.print(f"reconcile --grace-ms 0: {len(reconciles)} runs, {voided} holds voided through the book, "
                  f"{kept} kept (the order reached the book first)")
    for number, outcome in enumerate(reconciles, 1):
        last = (outcome.log.strip().splitlines() or [""])[-1][:160]
        console.print(f"  reconcile-{number}: exit {outcome.returncode}: {escape(last)}")


def faults_check(done: list[FaultResult], min_faults: int) -> CheckResult:
    count = sum(result.done for result in done)
    not_done = [f"{r.fault.kind} {r.fault.target or ''}: {r.detail}" for r in done if not r.done]
    return CheckResult("faults injected", count >= min_faults and not not_done,
                       "; ".join([f"{count} of {len(done)} planned (at least {min_faults} asked)", *not_done]))


def load_check(swarm: Outcome) -> CheckResult:
    """The swarm lived through the faults: it ran its whole duration and canceled its orders."""
    totals = swarm_totals(swarm)
    ok = swarm.returncode == 0 and totals.get("stopped_by") == "duration"
    detail = f"swarm exit {swarm.returncode}, stopped by {totals.get('stopped_by', '?')}"
    if not ok:
        detail += "; " + " | ".join(swarm.log.strip().splitlines()[-3:])
    return CheckResult("load ran to the end", ok, detail)


def programs_check(stack: ChaosStack) -> CheckResult:
    not_running = stack.not_running()
    detail = ", ".join(f"{name} {state}" for name, state in not_running.items())
    return CheckResult("every program running", not not_running,
                       detail or f"all {len(stack.program_names)} RUNNING")
