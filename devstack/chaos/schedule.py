"""Which faults a chaos run injects, and when: drawn from one seed, so a run can be repeated.

Every run has each kind at least once: a kill -9 of an API replica, of the matcher,
of the ledger worker, of the ticker and of the bot runner; a pause (SIGSTOP) past a
lock or lease; a graceful Redis restart; a MongoDB outage; a reconcile. More faults,
of kinds drawn by weight, fill the run up to one every SECONDS_PER_FAULT. Faults run
one after another; each keeps the harness busy for a while (a pause for its length),
and the idle time is spread at random between them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

KILL = "kill"
PAUSE = "pause"
REDIS_RESTART = "redis-restart"
MONGO_OUTAGE = "mongo-outage"
RECONCILE = "reconcile"
KINDS = (KILL, PAUSE, REDIS_RESTART, MONGO_OUTAGE, RECONCILE)

# The programs killed at least once each; "orderbook" stands for one API replica.
KILL_TARGETS = ("orderbook", "matcher", "ledger-worker", "ticker", "bot-runner")
EXTRA_WEIGHTS = {KILL: 5, PAUSE: 2, RECONCILE: 2, REDIS_RESTART: 1, MONGO_OUTAGE: 1}
SECONDS_PER_FAULT = 4.0
MONGO_OUTAGE_S = 10.0
WARMUP_S = 3.0    # no fault before this: let the swarm's first orders in
COOLDOWN_S = 5.0  # none after duration minus this: the last fault ends while the load still runs
# Faults may keep the harness busy for this share of the run at most; the rest is idle
# time between them, and slack for faults that take longer than BUSY_S says.
BUSY_SHARE = 0.75
# Seconds a fault keeps the harness busy besides its hold: a Redis restart waits for the
# append-only file to be written and read back, a MongoDB restart for its port. A kill
# does not wait for supervisord's restart; the next fault of that program does.
BUSY_S = {KILL: 0.5, PAUSE: 0.5, REDIS_RESTART: 3.0, MONGO_OUTAGE: 2.0, RECONCILE: 0.5}


@dataclass(frozen=True)
class PlannedFault:
    at_s: float  # seconds after the load started
    kind: str
    target: str | None = None  # the program, for a kill or a pause
    hold_s: float = 0.0  # how long a pause or an outage lasts

    @property
    def busy_s(self) -> float:
        return self.hold_s + BUSY_S[self.kind]


class ScheduleError(ValueError):
    """The run is too short for the faults asked."""


def pausable(pause_s: dict[str, float], budget_s: float) -> list[str]:
    """Programs whose pause (past their lease) fits in ``budget_s``."""
    return sorted(name for name, hold in pause_s.items() if hold + BUSY_S[PAUSE] <= budget_s)


def kinds_that_fit(pause_s: dict[str, float], budget_s: float) -> list[str]:
    fits = [kind for kind in EXTRA_WEIGHTS if kind != PAUSE and BUSY_S[kind] <= budget_s]
    fits = [kind for kind in fits if kind != MONGO_OUTAGE or MONGO_OUTAGE_S + BUSY_S[kind] <= budget_s]
    return fits + ([PAUSE] if pausable(pause_s, budget_s) else [])


def draw(rng: random.Random, kind: str, replicas: list[str], pause_targets: list[str],
         pause_s: dict[str, float], target: str | None = None) -> PlannedFault:
    """One fault of ``kind``; its time is set later."""
    if kind == KILL:
        target = target or rng.choice([*replicas, *KILL_TARGETS[1:]])
        return PlannedFault(0.0, KILL, rng.choice(replicas) if target == "orderbook" else target)
    if kind == PAUSE:
        target = rng.choice(pause_targets)
        return PlannedFault(0.0, PAUSE, target, pause_s[target])
    if kind == MONGO_OUTAGE:
        return PlannedFault(0.0, MONGO_OUTAGE, "mongo", MONGO_OUTAGE_S)
    return PlannedFault(0.0, kind, "redis" if kind == REDIS_RESTART else None)


def plan(seed: int, duration_s: float, min_faults: int, replicas: list[str],
         pause_s: dict[str, float]) -> list[PlannedFault]:
    """The faults of a run, in order, each with its time. ``replicas``: the API replicas'
    program names; ``pause_s``: how long a pause of each program must last (past its lease).
    A program is paused only if its pause takes at most an eighth of the run."""
    rng = random.Random(seed)
    window_s = duration_s - WARMUP_S - COOLDOWN_S
    targets = pausable(pause_s, window_s / 8)
    if not targets:
        raise ScheduleError(f"{duration_s:.0f} s is too short for a chaos run")
    faults = [draw(rng, KILL, replicas, targets, pause_s, target) for target in KILL_TARGETS]
    faults += [draw(rng, kind, replicas, targets, pause_s) for kind in KINDS[1:]]
    busy, budget_s = sum(fault.busy_s for fault in faults), window_s * BUSY_SHARE
    if busy > budget_s:
        raise ScheduleError(f"{duration_s:.0f} s is too short for one fault of each kind")
    while len(faults) < max(min_faults, int(duration_s / SECONDS_PER_FAULT)):
        # Keep room for the quickest faults still needed to reach min_faults.
        room_s = budget_s - busy - max(0, min_faults - len(faults) - 1) * min(BUSY_S.values())
        fits = kinds_that_fit({t: pause_s[t] for t in targets}, room_s)
        if not fits:
            if len(faults) < min_faults:
                raise ScheduleError(f"{duration_s:.0f} s is too short for {min_faults} faults")
            break
        kind = rng.choices(fits, [EXTRA_WEIGHTS[k] for k in fits])[0]
        fault = draw(rng, kind, replicas, pausable({t: pause_s[t] for t in targets}, room_s), pause_s)
        faults.append(fault)
        busy += fault.busy_s
    rng.shuffle(faults)
    return timed(rng, faults, window_s - busy)


def timed(rng: random.Random, faults: list[PlannedFault], idle_s: float) -> list[PlannedFault]:
    """Give each fault its start: the idle time is cut at random into gaps before each."""
    shares = [rng.random() for _ in range(len(faults) + 1)]
    total = sum(shares)
    at_s, out = WARMUP_S, []
    for fault, share in zip(faults, shares):
        at_s += idle_s * share / total
        out.append(PlannedFault(round(at_s, 2), fault.kind, fault.target, fault.hold_s))
        at_s += fault.busy_s
    return out
