"""Live display in Jupyter: a stream rendered as Markdown while it arrives.

The answer is redrawn in one display area (an IPython display handle), its reasoning
folded in a `<details>` block, usage and cost added when it ends. A kernel interrupt
reaches the consuming loop as KeyboardInterrupt: the stream is stopped and its worker
joined, the partial answer stays on screen marked as such, and the interrupt goes on so
that a "run all" stops there, as the user asked.

Redrawing happens on a small painter thread, a few times a second at most: each redraw
sends the whole answer to the browser, so drawing per token would cost the square of the
answer's length, and drawing only when an event arrives would leave the last words of a
stalled stream unshown. The consuming loop folds each event into its own snapshot under a
lock; the painter renders a copy.

IPython is never imported here: a kernel has loaded it already, and outside one (a script,
a terminal) `display` prints the answer's text as it arrives instead. This module imports
only the layers below the stream: a Stream reaches it through the `Displayable` protocol,
as in `streamchat.web`.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Iterator, Optional, Protocol

from .accumulate import ResponseSnapshot
from .errors import StreamChatError
from .types import ChatResponse, Event
from .types.response import response_markdown

REDRAW_SECONDS = 0.1
"""The least time between two redraws of a live answer."""


class Displayable(Protocol):
    """What `display` needs of a stream (a `streamchat.Stream` has it)."""

    def __iter__(self) -> Iterator[Event]: ...

    def partial(self) -> ChatResponse: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


def _ipython_display() -> Optional[Any]:
    """IPython's display module when running under IPython (a Jupyter kernel), else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        return None
    return sys.modules["IPython.display"]


class _Painter:
    """Redraws the display area from the events seen so far, on its own thread."""

    def __init__(self, ipython: Any) -> None:
        self._ipython = ipython
        self._handle = ipython.display(ipython.Markdown("▌"), display_id=True)
        self._snapshot = ResponseSnapshot()
        self._lock = threading.Lock()
        self._changed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streamchat-display", daemon=True)
        self._thread.start()

    def add(self, event: Event) -> None:
        with self._lock:
            self._snapshot.add(event)
            self._changed = True

    def _run(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            with self._lock:
                response: Optional[ChatResponse] = None
                if self._changed:
                    response = self._snapshot.to_response()
                    self._changed = False
            if response is not None:
                self.show(response_markdown(response, live=True))

    def show(self, markdown: str) -> None:
        self._handle.update(self._ipython.Markdown(markdown))

    def finish(self, markdown: str) -> None:
        """Stop redrawing and show the final state."""
        self._stop.set()
        self._thread.join()
        self.show(markdown)


def display(stream: Displayable) -> None:
    """Render `stream` live as Markdown in the current cell, to its end (outside IPython:
    print its text as it arrives).

    Re-raises the stream's error (after showing what arrived) and a KeyboardInterrupt
    (after stopping the stream, with the partial answer kept and marked).
    """
    ipython = _ipython_display()
    if ipython is None:
        _print_text(stream)
        return
    painter = _Painter(ipython)
    try:
        for event in stream:
            painter.add(event)
    except KeyboardInterrupt:
        # The kernel's interrupt lands in this thread: tell the worker, then close() from
        # the consuming thread folds what was shown into a cancelled response.
        stream.interrupt()
        stream.close()
        painter.finish(response_markdown(stream.partial()))
        raise
    except StreamChatError as exc:
        shown = response_markdown(exc.partial or stream.partial())
        painter.finish(f"{shown}\n\n**{type(exc).__name__}**: {exc}")
        raise
    except BaseException:
        painter.finish(response_markdown(stream.partial()))
        raise
    finally:
        stream.close()
    painter.finish(response_markdown(stream.partial()))


def _print_text(stream: Displayable) -> None:
    try:
        for event in stream:
            if event.type == "text":
                print(event.text, end="", flush=True)
    except KeyboardInterrupt:
        stream.interrupt()
        raise
    finally:
        stream.close()
        print()


__all__ = ["Displayable", "display"]
