"""Rate-limit state shared by the streams of one Client.

When a provider answers one stream with a 429 and a wait (Retry-After, or the reset of the
allowance that ran out), every other stream of the same Client to the same provider and
key would otherwise find out on its own, one 429 each, and then retry in step. Instead
the first one notes the moment the wait ends here, and the others hold their requests
until then (announcing it with a `status` event, and still ending at once on an
interrupt: the worker does the waiting on its stop Event).

Keys are never stored: each is reduced to a short hash that only tells keys apart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional

from .errors import RateLimitError, StreamChatError
from .types import StatusEvent

logger = logging.getLogger("streamchat")


def limit_key(provider: str, api_key: Optional[str]) -> str:
    """What one allowance is known by: the provider and a hash of the key (never the key)."""
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    return f"{provider}:{digest}"


@dataclass(frozen=True)
class Hold:
    """A request that must wait before it is sent, and the event that says so."""

    seconds: float
    notice: StatusEvent


class SharedLimits:
    """When each provider-and-key allowance of one Client may be used again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: Dict[str, float] = {}

    def hold(self, key: str, seconds: float) -> None:
        """No request for `key` before `seconds` from now (a later moment already noted
        stands)."""
        until = time.monotonic() + seconds
        with self._lock:
            if until > self._until.get(key, 0.0):
                self._until[key] = until

    def until(self, key: str) -> Optional[float]:
        """The monotonic time before which `key` must wait, if one is pending."""
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= time.monotonic():
                del self._until[key]
                return None
            return until

    def wait_left(self, key: str) -> float:
        """Seconds `key` must still wait (0 when it may go now)."""
        until = self.until(key)
        return 0.0 if until is None else max(0.0, until - time.monotonic())

    def note(self, key: str, error: StreamChatError) -> bool:
        """A rate-limit error that says how long to wait holds every stream of `key`;
        True when this one did."""
        if isinstance(error, RateLimitError) and error.retry_after:
            self.hold(key, error.retry_after)
            return True
        return False

    def hold_for(self, provider: str, key: str, total_left: Optional[float]) -> Optional[Hold]:
        """The wait before a request for `key` may be sent, if any; a wait past the
        stream's total deadline fails the stream at once instead."""
        wait = self.wait_left(key)
        if wait <= 0:
            return None
        if total_left is not None and wait >= total_left:
            raise RateLimitError(
                f"{provider} asked this client's streams to wait {wait:.1f} s, longer than "
                "the stream's total deadline allows; retry later or raise Timeouts(total=...)",
                provider=provider,
                retry_after=wait,
            )
        logger.warning("%s: waiting %.1f s for the rate limit another stream of this client "
                       "hit", provider, wait)
        notice = StatusEvent(message=f"waiting {wait:.1f} s before sending: {provider} "
                             "rate-limited another stream of this client")
        return Hold(wait, notice)
