"""The chaos run's fault plan: every kind each run, repeatable from its seed, inside the load."""
from __future__ import annotations

from collections import Counter

import pytest

from devstack.chaos import schedule
from devstack.chaos.faults import pause_lengths
from devstack.chaos.schedule import KILL_TARGETS, KINDS, ScheduleError, plan
from exchange.config import Settings

REPLICAS = ["orderbook-1", "orderbook-2"]
PAUSES = pause_lengths(Settings(), REPLICAS)


def test_every_kind_and_every_kill_target_is_in_every_plan():
    for seed in range(200):
        faults = plan(seed, 60, 15, REPLICAS, PAUSES)
        assert set(KINDS) <= {fault.kind for fault in faults}, seed
        killed = {fault.target for fault in faults if fault.kind == schedule.KILL}
        assert set(KILL_TARGETS[1:]) <= killed and killed & set(REPLICAS), seed


def test_a_60_second_run_has_at_least_15_faults_that_end_before_its_cooldown():
    for seed in range(200):
        faults = plan(seed, 60, 15, REPLICAS, PAUSES)
        assert len(faults) >= 15
        assert [fault.at_s for fault in faults] == sorted(fault.at_s for fault in faults)
        assert faults[0].at_s >= schedule.WARMUP_S
        assert max(fault.at_s + fault.busy_s for fault in faults) <= 60 - schedule.COOLDOWN_S + 0.01


def test_faults_on_one_program_never_overlap_nor_two_reconciles_but_others_may():
    overlapping = 0
    for seed in range(50):
        faults = plan(seed, 120, 15, REPLICAS, PAUSES)
        for i, fault in enumerate(faults):
            for other in faults[i + 1:]:
                if other.at_s < fault.at_s + fault.busy_s:
                    assert fault.lane != other.lane, (seed, fault, other)
                    overlapping += 1
    assert overlapping > 0


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    assert plan(7, 600, 15, REPLICAS, PAUSES) == plan(7, 600, 15, REPLICAS, PAUSES)
    assert plan(7, 600, 15, REPLICAS, PAUSES) != plan(8, 600, 15, REPLICAS, PAUSES)


def test_a_long_run_has_a_fault_every_few_seconds_of_every_kind():
    faults = plan(3, 600, 15, REPLICAS, PAUSES)
    kinds = Counter(fault.kind for fault in faults)
    assert len(faults) >= 100 and min(kinds.values()) >= 3
    assert "bot-runner" in {fault.target for fault in plan(3, 1200, 15, REPLICAS, PAUSES) if fault.kind == "pause"}


def test_a_pause_outlasts_the_lock_or_lease_of_its_program():
    settings = Settings(lock_ttl_ms=2000)
    pauses = pause_lengths(settings, REPLICAS)
    assert pauses["matcher"] > 2.0 and pauses["orderbook-1"] > 2.0 and pauses["ledger-worker"] > 3.0
    assert pauses["ticker"] > 5.0 and pauses["bot-runner"] > 30.0
    for fault in plan(5, 600, 15, REPLICAS, pauses):
        if fault.kind == schedule.PAUSE:
            assert fault.hold_s == pauses[fault.target]
        if fault.kind == schedule.MONGO_OUTAGE:
            assert fault.hold_s == schedule.MONGO_OUTAGE_S


def test_a_run_too_short_for_its_faults_is_refused():
    with pytest.raises(ScheduleError):
        plan(1, 20, 15, REPLICAS, PAUSES)
    with pytest.raises(ScheduleError):
        plan(1, 60, 300, REPLICAS, PAUSES)
