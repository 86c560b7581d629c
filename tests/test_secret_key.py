"""SECRET_KEY signs every bearer token: a process that signs or checks tokens refuses to start
without a fit one (unset, empty, shorter than 32 bytes, or the once-published default)."""
from __future__ import annotations

import os
import subprocess

import pytest

from devstack import programs
from devstack.procs import ROOT, free_port
from exchange.config import MIN_SECRET_KEY_BYTES, PUBLIC_SECRET_KEYS, signing_key

UNFIT = {"unset": None, "empty": "", "short": "x" * (MIN_SECRET_KEY_BYTES - 1),
         "published default": sorted(PUBLIC_SECRET_KEYS)[0]}


@pytest.mark.parametrize("key", UNFIT.values(), ids=UNFIT.keys())
def test_an_unfit_signing_key_is_refused_with_a_message_naming_it(key):
    with pytest.raises(SystemExit) as refused:
        signing_key(key or "")
    assert "SECRET_KEY" in str(refused.value)


def test_a_long_random_key_is_accepted():
    key = "k" * MIN_SECRET_KEY_BYTES
    assert signing_key(key) == key


# Each process that handles tokens, with one unfit key each (the function above covers every kind).
PROCESSES = {
    "api replica": (programs.orderbook_command(free_port()), None),
    "web replica": (programs.web_command(free_port(), 1), sorted(PUBLIC_SECRET_KEYS)[0]),
    "bot runner": (programs.worker_command("bots.runner"), "too-short"),
}


@pytest.mark.parametrize("command,key", PROCESSES.values(), ids=PROCESSES.keys())
def test_every_process_that_handles_tokens_exits_nonzero_without_a_fit_key(command, key, redis_server,
                                                                              mongo_server):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(PYTHONPATH=str(ROOT), REDIS_URL=programs.redis_url(redis_server.port),
               MONGO_URL=programs.mongo_url(mongo_server.port), MONGO_DB="t_secret_key")
    if key is not None:
        env["SECRET_KEY"] = key
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stdout + done.stderr
