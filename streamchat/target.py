"""`Target`: one provider a stream may try, resolved once by the facade and read by the
worker and the redaction of secrets. It sits below both so neither has to import the
other to name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import ConfigurationError
from .options import RetryPolicy, Timeouts
from .ratelimit import SharedLimits
from .types import ChatRequest, Usage
from .wire.common import Endpoint, WireFormat


@dataclass
class Target:
    """One provider to try: where to send, how to shape and read, and how patiently."""

    provider: str
    model: str
    wire: WireFormat
    endpoint: Optional[Endpoint]
    request: ChatRequest
    transport: Any
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    configuration_error: Optional[ConfigurationError] = None
    """Set when this provider cannot be used (no key): skipped in favour of a fallback."""
    price: Optional[Callable[[Usage], Usage]] = None
    max_frame_bytes: Optional[int] = None
    limits: SharedLimits = field(default_factory=SharedLimits)
    """The rate-limit state this provider's Client shares between its streams."""
    limit_key: str = ""
    """This provider and key's entry in `limits` (a hash, never the key)."""
