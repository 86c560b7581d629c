"""`make up` never signs tokens with the public default key."""
from __future__ import annotations

import stat

from devstack.config import StackConfig
from devstack.up import Layout, plan, stack_secret
from exchange.config import Settings


def test_each_data_dir_gets_its_own_private_key_that_survives_a_restart(tmp_path):
    first, second = Layout(tmp_path / "a"), Layout(tmp_path / "b")
    for layout in (first, second):
        layout.create()
    key = stack_secret(first)
    assert key == stack_secret(first)  # a restart keeps every token valid
    assert key != stack_secret(second) and key != Settings.secret_key and len(key) >= 48
    assert stat.S_IMODE(first.secret_key.stat().st_mode) == 0o600


def test_the_stack_uses_the_data_dirs_key_unless_secret_key_is_set(tmp_path):
    base = {"EXCHANGE_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0",
            "MONGO_URL": "mongodb://127.0.0.1:1/", "WEB_REPLICAS": "0"}
    layout = Layout(tmp_path)
    layout.create()
    _stack, env, _ports = plan(StackConfig.from_env(base), layout)
    assert env["SECRET_KEY"] == stack_secret(layout) != Settings.secret_key
    _stack, env, _ports = plan(StackConfig.from_env({**base, "SECRET_KEY": "operator-chosen"}), layout)
    assert env["SECRET_KEY"] == "operator-chosen"
