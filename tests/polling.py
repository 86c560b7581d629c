"""Waiting, in tests, for something other processes do."""
from __future__ import annotations

import time


def wait_for(found, what: str, timeout: float = 20, every_s: float = 0.1):
    """``found()``'s first truthy value, polled every ``every_s``; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every_s)
