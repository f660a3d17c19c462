"""streamchat: stream LLM chat completions into plain synchronous Python.

A worker thread per stream reads the provider's HTTP stream and feeds typed events to a
plain iterator; any thread can interrupt it. See README.rst.
"""

import logging

__version__ = "0.1.0"

from .chat import Chat, Run, ToolResultEvent, ToolRoundsExceededError
from .client import Client
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    ContentFilterError,
    ContextOverflowError,
    InvalidRequestError,
    NotFoundError,
    OutputValidationError,
    OverloadedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    StreamChatError,
    StreamTimeoutError,
    TurnInProgressError,
)
from .options import RetryPolicy, Timeouts
from .providers import presets, register_preset
from .replay import replay
from .types import (
    CancelledEvent,
    ChatRequest,
    ChatResponse,
    DoneEvent,
    Event,
    FallbackEvent,
    Message,
    PausedEvent,
    ResponseFormat,
    RetryEvent,
    StartEvent,
    StatusEvent,
    TextEvent,
    ThinkingBlock,
    ThinkingEvent,
    Tool,
    ToolCall,
    ToolCallDeltaEvent,
    ToolCallEvent,
    ToolCallStartEvent,
    Usage,
    UsageEvent,
)
from .worker import Stream

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AuthenticationError",
    "CancelledEvent",
    "Chat",
    "ChatRequest",
    "ChatResponse",
    "Client",
    "ConfigurationError",
    "ConnectionFailedError",
    "ContentFilterError",
    "ContextOverflowError",
    "DoneEvent",
    "Event",
    "FallbackEvent",
    "InvalidRequestError",
    "Message",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "PausedEvent",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ResponseFormat",
    "RetryEvent",
    "RetryPolicy",
    "Run",
    "ServerError",
    "StartEvent",
    "StatusEvent",
    "Stream",
    "StreamChatError",
    "StreamTimeoutError",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingEvent",
    "Timeouts",
    "Tool",
    "ToolCall",
    "ToolCallDeltaEvent",
    "ToolCallEvent",
    "ToolCallStartEvent",
    "ToolResultEvent",
    "ToolRoundsExceededError",
    "TurnInProgressError",
    "Usage",
    "UsageEvent",
    "__version__",
    "presets",
    "register_preset",
    "replay",
]
