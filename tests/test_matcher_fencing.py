"""The Redis matching engine when its lock fails it: a matcher paused past its lock's expiry
cannot commit (the fence refuses it), and workers killed with SIGKILL mid-batch lose and double
nothing. The journal and the book still equal one sequential reference run
(tests/test_matcher_redis.py has the helpers and the racing workers)."""
from __future__ import annotations

import random
import threading
import time

import pytest
import redis

from exchange import keys
from exchange.lease import Lease
from exchange.worker import Loop, repeat
from orderbook.matcher import StandingMatcher, SymbolMatcher
from tests.reference_matcher import ReferenceMatcher
from tests.test_matcher_redis import (
    SYMBOL,
    assert_journal_matches,
    check_against_reference,
    drain_fully,
    enqueue,
    read_journal,
    start_worker,
    stream,
    worker_stats,
)

# ---- c. a matcher paused past its lock's expiry ------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rival", ["process", "thread"])
def test_matcher_paused_past_lock_expiry_cannot_commit(redis_client, redis_server, workers, rival):
    """A commits its first batch, then stalls before committing its second, past its
    lock's expiry; B takes the lock and applies everything. A's late commit must be
    refused, and A must then carry on from Redis, not from its own stale batch."""
    commands = stream(seed=3, count=400)
    enqueue(redis_client, commands[:300])
    rival_stats = {}

    def rival_drains_everything():
        if rival == "process":
            rival_stats.update(worker_stats(start_worker(redis_server, workers)))
            return
        other = redis.Redis(port=redis_server.port)
        matcher_b = SymbolMatcher(other, SYMBOL)

        def run():
            drain_fully(matcher_b)
            rival_stats.update(batches=matcher_b.batches, stale_commits=matcher_b.stale_commits)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(30)
        other.close()

    commits_attempted = []

    def pause_past_ttl_on_second_batch():
        commits_attempted.append(time.monotonic())
        if len(commits_attempted) == 2:
            time.sleep(0.35)  # A's 300 ms lock expires: a GC pause, a stalled VM...
            rival_drains_everything()  # ...and meanwhile B takes the lock and does the work

    matcher_a = SymbolMatcher(redis_client, SYMBOL, lock_ttl_ms=300, batch_max_commands=100,
                              before_commit=pause_past_ttl_on_second_batch)
    assert matcher_a.drain().held
    assert matcher_a.stale_commits == 1 and matcher_a.batches == 1
    assert rival_stats["batches"] >= 1 and rival_stats["stale_commits"] == 0
    journal = check_against_reference(redis_client, commands[:300])

    # A drains again: nothing left, nothing doubled.
    matcher_a.drain()
    assert read_journal(redis_client) == journal
    # New commands: A matches them against the book B left, not its refused batch.
    enqueue(redis_client, commands[300:])
    assert matcher_a.drain().held
    assert matcher_a.batches == 2
    check_against_reference(redis_client, commands)


def test_lock_expiry_alone_is_harmless_when_nobody_else_wrote(redis_client):
    """The fence, not the lock, decides: a late commit that still holds the newest token is correct."""
    commands = stream(seed=4, count=50)
    enqueue(redis_client, commands)
    matcher = SymbolMatcher(redis_client, SYMBOL, lock_ttl_ms=100, before_commit=lambda: time.sleep(0.15))
    assert matcher.drain().held
    assert matcher.stale_commits == 0 and matcher.batches == 1
    check_against_reference(redis_client, commands)


@pytest.mark.timeout(60)
def test_standing_matcher_commits_only_while_its_lock_lives(redis_client, monkeypatch):
    """The standing matcher times its waits and batches from its lease's last renewal.
    A burst that arrives at the end of a wait which began just before a renewal was
    due must not keep it committing past the lock's expiry (the fence would refuse the
    commit, and a submitter would take the book)."""
    ttl_s = 0.6
    wait_s = ttl_s / 4  # the standing matcher's longest blocking read
    commands = stream(seed=8, count=200)
    ensures: list[tuple[float, bool]] = []  # (monotonic time, renewed) of each lease check
    lock_ttls: list[int] = []
    real_ensure = Lease.ensure

    def recorded_ensure(self) -> bool:
        due, now = self._renew_at, time.monotonic()
        held = real_ensure(self)
        ensures.append((now, held and self._renew_at != due))
        return held

    def slow_commit() -> None:
        time.sleep(0.06)
        lock_ttls.append(redis_client.pttl(matcher.lock.key))

    monkeypatch.setattr(Lease, "ensure", recorded_ensure)
    matcher = SymbolMatcher(redis_client, SYMBOL, lock_ttl_ms=int(ttl_s * 1000), batch_max_commands=2,
                            before_commit=slow_commit)
    hz = redis_client.config_get("hz")["hz"]
    redis_client.config_set("hz", 100)  # blocking reads time out within 10 ms, not 100
    stop = threading.Event()
    standing = StandingMatcher(matcher)  # run as the matching worker runs it: the worker skeleton's loop
    server = threading.Thread(target=repeat, args=("match", Loop(standing.serve_once, idle_s=0.01), stop, threading.Event()))
    server.start()
    try:
        for burst in (commands[i:i + 40] for i in range(0, len(commands), 40)):
            # An idle check that did not renew, right after one that did: the wait it starts
            # ends just before the renewal it skipped falls due.
            seen = len(ensures)
            while not (len(ensures) > max(seen, 1) and not ensures[-1][1] and ensures[-2][1]):
                time.sleep(0.0005)
            time.sleep(max(0.0, ensures[-1][0] + wait_s * 0.95 - time.monotonic()))
            enqueue(redis_client, burst)
            time.sleep(ttl_s)
        deadline = time.monotonic() + 20
        while redis_client.get(keys.cursor(SYMBOL)) != redis_client.xrevrange(keys.inbox(SYMBOL), count=1)[0][0]:
            assert time.monotonic() < deadline, "the matcher never caught up"
            time.sleep(0.05)
    finally:
        stop.set()
        server.join(10)
        standing.stop()
        redis_client.config_set("hz", hz)
    assert len(lock_ttls) == matcher.batches >= len(commands) // 2
    assert min(lock_ttls) > 0, f"committed with the lock gone: {sorted(lock_ttls)[:5]}"
    assert matcher.stale_commits == 0
    check_against_reference(redis_client, commands)


# ---- d. workers killed with SIGKILL ------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_worker_killed_before_commit_loses_and_doubles_nothing(redis_client, redis_server, workers):
    commands = stream(seed=5, count=600)
    enqueue(redis_client, commands)
    doomed = start_worker(redis_server, workers, "--batch", 32, "--lock-ttl-ms", 300, "--die-on-batch", 3)
    doomed.communicate(timeout=30)
    assert doomed.returncode == -9
    # Two batches made it; the third died with its worker, its lock still held.
    assert_journal_matches(read_journal(redis_client), ReferenceMatcher().run(commands[:64]))

    stats = worker_stats(start_worker(redis_server, workers, "--batch", 32, "--lock-ttl-ms", 300))
    assert stats["batches"] >= (600 - 64) / 32
    check_against_reference(redis_client, commands)


@pytest.mark.timeout(120)
def test_workers_killed_at_random_times(redis_client, redis_server, workers):
    commands = stream(seed=6, count=3000)
    enqueue(redis_client, commands)
    rng = random.Random(6)
    # Every batch lingers a few ms between matching and commit, so kills often land
    # in that window, and the workers stay busy long enough to be killed repeatedly.
    args = ("--batch", 16, "--lock-ttl-ms", 250, "--pause-p", 1, "--pause-ms", 10)
    live = [start_worker(redis_server, workers, *args) for _ in range(2)]
    kills = 0
    deadline = time.monotonic() + 60
    while kills < 8 and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.05, 0.4))
        victim = live.pop(rng.randrange(len(live)))
        if victim.poll() is not None:  # it finished: the whole inbox is applied
            live.append(victim)
            break
        victim.kill()
        victim.communicate()
        kills += 1
        live.append(start_worker(redis_server, workers, *args))
    for proc in live:
        worker_stats(proc)
    assert kills >= 3, "the workers finished before the test could kill them"
    assert int(redis_client.get(keys.seq(SYMBOL))) > 0
    check_against_reference(redis_client, commands)
