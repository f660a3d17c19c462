"""Hearing a caller's `cancel=` Event the moment it is set, without owning it or polling it.

A threading.Event offers no callback, and a stream must neither set the caller's Event
(one Event often stops many streams: a "stop everything" button) nor poll it (a poll
every few milliseconds per stream, times hundreds of idle streams, is a busy process).

`Event.set()` wakes its waiters by calling `release()` on each entry of its Condition's
waiter list, in the setting thread, with the Event's lock held. A stream therefore puts
one small object with a `release()` method in that list: setting the Event calls the
stream's abort at once, and no thread waits or wakes while it is unset. This leans on the
layout of CPython's and PyPy's pure-Python `threading` module (an Event's `_cond`, a
Condition's `_waiters` deque), which has not changed since Python 3.2; an object without
it (a multiprocessing Event, a look-alike) is polled instead, see `watch`.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Optional

Unwatch = Callable[[], None]


class _Waiter:
    """Stands in an Event's waiter list; `set()` calls `release()` with its lock held,
    so the callback must be quick, must not raise and must not touch that Event."""

    __slots__ = ("callback", "fired")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.fired = False

    def release(self) -> None:
        self.fired = True
        try:
            self.callback()
        except Exception:  # an error here would break the caller's set()
            pass


def watch(event: Any, callback: Callable[[], None]) -> Optional[Unwatch]:
    """Call `callback` once, in the setting thread, when `event` is set (at once if it is
    set already). Returns the function that stops watching, or None when `event` is not a
    threading.Event whose waiters can be joined: the caller must then poll it."""
    condition = getattr(event, "_cond", None)
    waiters = getattr(condition, "_waiters", None)
    if not isinstance(condition, threading.Condition) or not isinstance(
        waiters, collections.deque
    ):
        return None
    waiter = _Waiter(callback)
    with condition:
        already = event.is_set()
        if not already:
            waiters.append(waiter)
    if already:
        callback()

    def unwatch() -> None:
        if waiter.fired:
            # set() has taken it off the list already. Not taking the lock matters when
            # one Event stops a thousand streams: set() holds it while it calls every
            # stream's abort, and each ending stream would queue up behind it.
            return
        with condition:
            try:
                waiters.remove(waiter)
            except ValueError:
                pass  # set() already removed it

    return unwatch


__all__ = ["Unwatch", "watch"]
