"""Which faults a chaos run injects, and when: drawn from one seed, so a run can be repeated.

Every run has each kind at least once: a kill -9 of an API replica, of the matcher,
of the ledger worker, of the ticker and of the bot runner; a pause (SIGSTOP) past a
lock or lease; a graceful Redis restart; a MongoDB outage; a reconcile. More faults,
of kinds drawn by weight, fill the run up to one every SECONDS_PER_FAULT.

Each fault starts at a random moment and lasts BUSY_S (plus its hold). Faults on
different programs may overlap, as real ones do (a kill during a MongoDB outage, a
reconcile while an API replica is paused); two on the same program never do, nor
two reconciles.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

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
COOLDOWN_S = 5.0  # every fault ends this long before the load does
# How long a fault keeps its program out besides its hold: supervisord restarting a
# killed program, Redis writing and reading back its append-only file, MongoDB's start.
BUSY_S = {KILL: 3.0, PAUSE: 0.5, REDIS_RESTART: 3.0, MONGO_OUTAGE: 3.0, RECONCILE: 1.0}
PLACE_TRIES = 50  # random starts tried for a fault before it is left out


@dataclass(frozen=True)
class PlannedFault:
    at_s: float  # seconds after the load started
    kind: str
    target: str | None = None  # the program it hits (None: a reconcile, which hits none)
    hold_s: float = 0.0  # how long a pause or an outage lasts

    @property
    def busy_s(self) -> float:
        return self.hold_s + BUSY_S[self.kind]

    @property
    def lane(self) -> str:
        """Faults in one lane never overlap: those on one program, and reconciles."""
        return self.target or self.kind

    def clashes(self, other: "PlannedFault") -> bool:
        return (self.lane == other.lane
                and self.at_s < other.at_s + other.busy_s and other.at_s < self.at_s + self.busy_s)


class ScheduleError(ValueError):
    """The run is too short for the faults asked."""


def pausable(pause_s: dict[str, float], longest_s: float) -> list[str]:
    """Programs whose pause (past their lease) lasts at most ``longest_s``."""
    return sorted(name for name, hold in pause_s.items() if hold + BUSY_S[PAUSE] <= longest_s)


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


def place(rng: random.Random, fault: PlannedFault, placed: list[PlannedFault],
          window_s: float) -> PlannedFault | None:
    """The fault at a random start inside the window, clear of the others on its program."""
    latest = WARMUP_S + window_s - fault.busy_s
    for _ in range(PLACE_TRIES if latest >= WARMUP_S else 0):
        timed = replace(fault, at_s=round(rng.uniform(WARMUP_S, latest), 2))
        if not any(timed.clashes(other) for other in placed):
            return timed
    return None


def plan(seed: int, duration_s: float, min_faults: int, replicas: list[str],
         pause_s: dict[str, float]) -> list[PlannedFault]:
    """The faults of a run in the order they start. ``replicas``: the API replicas'
    program names; ``pause_s``: how long a pause of each program must last (past its lease).
    A program is paused only if its pause takes at most an eighth of the run."""
    rng = random.Random(seed)
    window_s = duration_s - WARMUP_S - COOLDOWN_S
    targets = pausable(pause_s, window_s / 8)
    if not targets:
        raise ScheduleError(f"{duration_s:.0f} s is too short for a chaos run")
    required = [draw(rng, KILL, replicas, targets, pause_s, target) for target in KILL_TARGETS]
    required += [draw(rng, kind, replicas, targets, pause_s) for kind in KINDS[1:]]
    placed: list[PlannedFault] = []
    for fault in required:
        timed = place(rng, fault, placed, window_s)
        if timed is None:
            raise ScheduleError(f"{duration_s:.0f} s is too short for one fault of each kind")
        placed.append(timed)
    wanted = max(min_faults, int(duration_s / SECONDS_PER_FAULT))
    for _ in range(4 * wanted):  # an extra that finds no room is drawn again, a few times over
        if len(placed) >= wanted:
            break
        kind = rng.choices(list(EXTRA_WEIGHTS), list(EXTRA_WEIGHTS.values()))[0]
        timed = place(rng, draw(rng, kind, replicas, targets, pause_s), placed, window_s)
        placed += [timed] if timed else []
    if len(placed) < min_faults:
        raise ScheduleError(f"{duration_s:.0f} s is too short for {min_faults} faults")
    return sorted(placed, key=lambda fault: fault.at_s)
