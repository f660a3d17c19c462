"""Retry and deadline settings, and the backoff arithmetic that goes with them.

Pure: the clock and the random source are passed in, so tests can check every delay
without waiting for it.
"""

from __future__ import annotations

import random
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from .errors import RateLimitError, StreamChatError, add_note


class RetryPolicy(BaseModel):
    """How often and how patiently to retry a failed attempt before any output arrived."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=3, ge=1)
    """Attempts per provider, the first included; 1 turns retries off."""
    initial_delay: float = Field(default=1.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_delay: float = Field(default=60.0, ge=0)
    """No wait is longer, whatever the server asks for."""
    jitter: float = Field(default=0.2, ge=0, le=1)
    """Each computed delay is scaled by a random factor within +/- this fraction."""
    rate_limit_floor: float = Field(default=5.0, ge=0)
    """A 429 that gives no hint waits at least this long rather than hammering."""

    def delay(
        self, attempt: int, error: StreamChatError, rng: Optional[random.Random] = None
    ) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        wait = error.retry_after
        if wait is not None and wait >= 0:  # NaN and negative waits are no hint
            return min(wait, self.max_delay)
        base = self.initial_delay * self.multiplier ** (attempt - 1)
        if self.jitter:
            base *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        if isinstance(error, RateLimitError):
            base = max(base, self.rate_limit_floor)
        return max(0.0, min(base, self.max_delay))


    def gives_up(
        self, attempt: int, error: StreamChatError, delay: float, time_left: Optional[float]
    ) -> bool:
        """True when failed attempt number `attempt` is the last: the attempts are used
        up, or the stream's total deadline ends before the wait would. The error then
        says so, which its own advice cannot know."""
        if attempt >= self.max_attempts:
            if attempt > 1:
                add_note(error, f"gave up after {attempt} attempts")
            return True
        if time_left is not None and delay >= time_left:
            add_note(error, f"not retried: the total deadline ends before a {delay:.1f} s wait")
            return True
        return False


class Timeouts(BaseModel):
    """Deadlines for one stream, in seconds; None disables one.

    `idle` and `first_token` count content events (text, thinking, tool calls), not bytes:
    a server that only sends keep-alive pings is as silent as one that sends nothing.
    """

    model_config = ConfigDict(frozen=True)

    connect: Optional[float] = Field(default=10.0, gt=0)
    """To open the TCP (and TLS) connection."""
    first_token: Optional[float] = Field(default=300.0, gt=0)
    """From sending the request to the first content event; generous for reasoning models."""
    idle: Optional[float] = Field(default=120.0, gt=0)
    """The longest gap between two content events."""
    total: Optional[float] = Field(default=None, gt=0)
    """The whole stream, retries included."""
    status_interval: float = Field(default=30.0, gt=0)
    """While the server has sent nothing yet, a `status` event is emitted this often."""
