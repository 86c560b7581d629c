"""Pacing under load: a worker loop waits a little after a pass that worked (so the next batch is
larger), and an order waiting on a held lock backs off instead of polling every 10 ms."""
from __future__ import annotations

import threading
import time

from exchange import keys
from exchange.config import Settings
from exchange.scripts import Scripts
from exchange.worker import Loop, repeat
from orderbook.matcher import SymbolMatcher
from orderbook.submission import LOCK_RETRY_S, MAX_HELD_WAIT_S, Submitter


def test_a_loop_paces_passes_that_worked_to_busy_s_waits_idle_s_after_none_and_every_s_always():
    loop = Loop(lambda: 0, idle_s=0.05, busy_s=0.2)
    assert loop.pause_after(0, took_s=0.01) == 0.05
    assert loop.pause_after(7, took_s=0.0) == 0.2
    assert abs(loop.pause_after(7, took_s=0.15) - 0.05) < 1e-9  # the next pass starts 0.2 s after this one did
    assert loop.pause_after(7, took_s=0.3) == 0.0  # near capacity: no wait at all
    assert Loop(lambda: 0).pause_after(7, took_s=0.0) == 0.0  # unpaced by default: the matcher's loops
    assert Loop(lambda: 0, busy_s=0.2, every_s=lambda: 1.0).pause_after(7, took_s=0.0) == 1.0


def test_repeat_paces_passes_by_when_they_started():
    """Passes of 40 ms with busy_s 0.1 run 0.1 s apart, start to start: about 5 in 0.5 s. A wait of
    busy_s after each pass would give about 3.6, no pacing about 12."""
    starts: list[float] = []

    def work() -> int:
        starts.append(time.monotonic())
        time.sleep(0.04)
        return 1

    stopping = threading.Event()
    thread = threading.Thread(target=repeat, args=("paced", Loop(work, busy_s=0.1), stopping, threading.Event()))
    thread.start()
    time.sleep(0.5)
    stopping.set()
    thread.join(5)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert gaps and min(gaps) >= 0.095, gaps
    assert sum(gaps) / len(gaps) < 0.13, gaps  # not 0.14: the pass's own 40 ms is inside the pace


def blpops(client) -> int:
    return int(client.info("commandstats").get("cmdstat_blpop", {}).get("calls", 0))


def test_an_order_waiting_on_a_held_lock_backs_off(redis_client):
    settings = Settings(symbols=("KRYP",))
    matcher = SymbolMatcher.for_settings(redis_client, "KRYP", settings, Scripts(redis_client))
    submitter = Submitter(redis_client, {"KRYP": matcher}, order_wait_ms=600)
    redis_client.set(matcher.lock.key, "another holder", px=5000)  # held, and nobody answers
    before = blpops(redis_client)
    started = time.monotonic()
    assert submitter.await_reply("KRYP", "no-reply", lock_held=True) is None
    waited = time.monotonic() - started
    assert 0.6 <= waited < 0.6 + MAX_HELD_WAIT_S + 0.2
    polls = blpops(redis_client) - before
    # 10, 20, 40, 80, then 100 ms apart: about 9 waits in 600 ms, where a 10 ms poll makes 60.
    assert polls <= 12, polls
    # At most MAX_HELD_WAIT_S apart, plus a round trip each: on a loaded CI machine 5 were seen
    # where an idle one makes 9, so the floor is what 600 ms holds at 150 ms a poll.
    assert polls >= 0.6 / (MAX_HELD_WAIT_S + 0.05), polls
    assert redis_client.exists(keys.reply("KRYP", "no-reply")) == 0
    assert LOCK_RETRY_S < MAX_HELD_WAIT_S
