"""The deadlines of one stream: connect aside, a stream may wait so long for its first
output, so long between two pieces of output, and so long in all. They are counted on
content, never on bytes, so keep-alive pings cannot hold a stalled stream open."""

from __future__ import annotations

import time
from typing import Optional, Tuple

from .errors import StreamTimeoutError
from .options import Timeouts


class Deadlines:
    """The next deadline for a read, counted on content rather than bytes."""

    def __init__(self, timeouts: Timeouts, started: float) -> None:
        self.timeouts = timeouts
        self.total_end = started + timeouts.total if timeouts.total else None
        self.first_end: Optional[float] = None
        self.last_content: Optional[float] = None

    def attempt_started(self) -> None:
        ft = self.timeouts.first_token
        self.first_end = time.monotonic() + ft if ft else None
        self.last_content = None

    def total_left(self) -> Optional[float]:
        """How long a retry's wait may still take: the time to the nearest deadline when
        the stream has a total one, None when it has none."""
        return self.next()[0] if self.total_end is not None else None

    def next(self) -> Tuple[Optional[float], str]:
        """Seconds until the nearest deadline (None: no deadline) and its phase."""
        if self.last_content is None:
            end, phase = self.first_end, "first_token"
        elif self.timeouts.idle:
            end, phase = self.last_content + self.timeouts.idle, "idle"
        else:
            end, phase = None, "idle"
        if self.total_end is not None and (end is None or self.total_end <= end):
            end, phase = self.total_end, "total"
        if end is None:
            return None, phase
        return end - time.monotonic(), phase

    def error(self, phase: str, provider: str) -> StreamTimeoutError:
        limits = {
            "first_token": (self.timeouts.first_token, "before the first output"),
            "idle": (self.timeouts.idle, "between two pieces of output"),
            "total": (self.timeouts.total, "for the whole stream"),
        }
        seconds, what = limits.get(phase, (None, ""))
        return StreamTimeoutError(
            f"{provider} was silent for more than {seconds} s {what} ({phase} deadline); "
            f"raise Timeouts({phase}=...) if the model needs longer",
            phase=phase,
            provider=provider,
        )
