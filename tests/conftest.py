import threading
import time

import pytest

import streamchat.worker


@pytest.fixture
def no_backoff(monkeypatch):
    """Record retry delays instead of sleeping through them."""
    delays = []

    def wait(stop, delay):
        delays.append(delay)
        return stop.is_set()

    monkeypatch.setattr(streamchat.worker, "backoff_wait", wait)
    return delays


def wait_for_threads(baseline: int, timeout: float = 2.0) -> int:
    """Thread count once streamchat workers have gone (bounded wait, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = [t for t in threading.enumerate() if t.name.startswith("streamchat-")]
        if not workers and threading.active_count() <= baseline:
            break
        time.sleep(0.01)
    return threading.active_count()


@pytest.fixture
def thread_baseline():
    return threading.active_count()
