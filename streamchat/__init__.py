"""streamchat: stream LLM chat completions into plain synchronous Python.

A worker thread per stream reads the provider's HTTP stream and feeds typed events to a
plain iterator; any thread can interrupt it. See README.rst and the guide in docs/.

Public names load on first use, as pydantic's do: `import streamchat` stays as cheap as
importing its dependencies, and a command that never streams never builds the models.
"""

import importlib
import logging
from typing import TYPE_CHECKING, Any, Dict

from .version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY: Dict[str, str] = {
    "Audio": "types",
    "AuthenticationError": "errors",
    "CancelledEvent": "types",
    "Chat": "chat",
    "ChatRequest": "types",
    "ChatResponse": "types",
    "Citation": "types",
    "CitationEvent": "types",
    "Client": "client",
    "CodeExecution": "types",
    "ConfigurationError": "errors",
    "ConnectionFailedError": "errors",
    "ContentFilterError": "errors",
    "ContextOverflowError": "errors",
    "Document": "types",
    "DoneEvent": "types",
    "Event": "types",
    "FallbackEvent": "types",
    "Image": "types",
    "InvalidRequestError": "errors",
    "LogprobsEvent": "types",
    "Message": "types",
    "ModelList": "catalog",
    "NotFoundError": "errors",
    "OutputValidationError": "errors",
    "OverloadedError": "errors",
    "Part": "types",
    "PausedEvent": "types",
    "PermissionDeniedError": "errors",
    "ProtocolError": "errors",
    "RateLimit": "types",
    "RateLimitError": "errors",
    "RefusalEvent": "types",
    "ResponseFormat": "types",
    "RetryEvent": "types",
    "RetryPolicy": "options",
    "Run": "tools",
    "ServerError": "errors",
    "ServerToolCall": "types",
    "ServerToolCallEvent": "types",
    "ServerToolResultEvent": "types",
    "StartEvent": "types",
    "StatusEvent": "types",
    "Stream": "stream",
    "StreamChatError": "errors",
    "StreamInUseError": "errors",
    "StreamTimeoutError": "errors",
    "Text": "types",
    "TextEvent": "types",
    "ThinkingBlock": "types",
    "ThinkingEvent": "types",
    "Timeouts": "options",
    "TokenLogprob": "types",
    "Tool": "types",
    "ToolCall": "types",
    "ToolCallDeltaEvent": "types",
    "ToolCallEvent": "types",
    "ToolCallStartEvent": "types",
    "ToolResultEvent": "tools",
    "ToolRoundsExceededError": "tools",
    "TopLogprob": "types",
    "TurnInProgressError": "errors",
    "UrlContext": "types",
    "Usage": "types",
    "UsageEvent": "types",
    "WebSearch": "types",
    "presets": "providers",
    "register_preset": "providers",
    "replay": "replaying",
}
"""Each public name and the module that defines it."""

if TYPE_CHECKING:
    from .catalog import (
        ModelList,
    )
    from .chat import (
        Chat,
    )
    from .client import (
        Client,
    )
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
        StreamInUseError,
        StreamTimeoutError,
        TurnInProgressError,
    )
    from .options import (
        RetryPolicy,
        Timeouts,
    )
    from .providers import (
        presets,
        register_preset,
    )
    from .replaying import (
        replay,
    )
    from .stream import (
        Stream,
    )
    from .tools import (
        Run,
        ToolResultEvent,
        ToolRoundsExceededError,
    )
    from .types import (
        Audio,
        CancelledEvent,
        ChatRequest,
        ChatResponse,
        Citation,
        CitationEvent,
        CodeExecution,
        Document,
        DoneEvent,
        Event,
        FallbackEvent,
        Image,
        LogprobsEvent,
        Message,
        Part,
        PausedEvent,
        RateLimit,
        RefusalEvent,
        ResponseFormat,
        RetryEvent,
        ServerToolCall,
        ServerToolCallEvent,
        ServerToolResultEvent,
        StartEvent,
        StatusEvent,
        Text,
        TextEvent,
        ThinkingBlock,
        ThinkingEvent,
        TokenLogprob,
        Tool,
        ToolCall,
        ToolCallDeltaEvent,
        ToolCallEvent,
        ToolCallStartEvent,
        TopLogprob,
        UrlContext,
        Usage,
        UsageEvent,
        WebSearch,
    )


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> Any:
    return sorted(__all__)


__all__ = [
    "Audio",
    "AuthenticationError",
    "CancelledEvent",
    "Chat",
    "ChatRequest",
    "ChatResponse",
    "Citation",
    "CitationEvent",
    "Client",
    "CodeExecution",
    "ConfigurationError",
    "ConnectionFailedError",
    "ContentFilterError",
    "ContextOverflowError",
    "Document",
    "DoneEvent",
    "Event",
    "FallbackEvent",
    "Image",
    "InvalidRequestError",
    "LogprobsEvent",
    "Message",
    "ModelList",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "Part",
    "PausedEvent",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimit",
    "RateLimitError",
    "RefusalEvent",
    "ResponseFormat",
    "RetryEvent",
    "RetryPolicy",
    "Run",
    "ServerError",
    "ServerToolCall",
    "ServerToolCallEvent",
    "ServerToolResultEvent",
    "StartEvent",
    "StatusEvent",
    "Stream",
    "StreamChatError",
    "StreamInUseError",
    "StreamTimeoutError",
    "Text",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingEvent",
    "Timeouts",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallDeltaEvent",
    "ToolCallEvent",
    "ToolCallStartEvent",
    "ToolResultEvent",
    "ToolRoundsExceededError",
    "TopLogprob",
    "TurnInProgressError",
    "UrlContext",
    "Usage",
    "UsageEvent",
    "WebSearch",
    "__version__",
    "presets",
    "register_preset",
    "replay",
]
