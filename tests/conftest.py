import gc
import os
import threading
import time

import pytest

import streamchat.worker


@pytest.fixture(scope="session", autouse=True)
def streamchat_home(tmp_path_factory):
    """Where the command line saves conversations during the tests: never the user's own
    data directory."""
    previous = os.environ.get("STREAMCHAT_HOME")
    os.environ["STREAMCHAT_HOME"] = str(tmp_path_factory.mktemp("streamchat-home"))
    yield
    if previous is None:
        os.environ.pop("STREAMCHAT_HOME", None)
    else:
        os.environ["STREAMCHAT_HOME"] = previous


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


@pytest.fixture
def no_collector():
    """Cleanup must not depend on the cycle collector (a notebook may never run it)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
