"""Timing bounds that hold on a loaded machine: a probe thread measures how late the OS
wakes a sleeping thread while the test runs, and a bound ("within 100 ms") is allowed that
lateness on top. On an idle machine the allowance is well under a millisecond, so the
bound is the contract's; a stream that never meets its time still fails."""

from __future__ import annotations

import threading
import time
from typing import Any


class SchedulingLag:
    """Use as a context manager around the measured code; `.worst` is the largest delay
    seen between when a 5 ms sleep should have ended and when its thread ran again."""

    TICK = 0.005

    def __init__(self) -> None:
        self.worst = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="lag-probe", daemon=True)

    def _probe(self) -> None:
        while not self._done.is_set():
            began = time.monotonic()
            time.sleep(self.TICK)
            self.worst = max(self.worst, time.monotonic() - began - self.TICK)

    def __enter__(self) -> SchedulingLag:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        self._thread.join()
