"""The neutral vocabulary every layer speaks: messages, requests, events and the response.

Nothing here knows a provider or touches I/O, so the same models describe an OpenAI stream,
an Anthropic stream and a replayed recording alike. One module per job: `messages` (the
conversation), `request` (what is asked), `events` (what streams back), `response` (what
it adds up to); this package gathers their names.
"""

from .events import (
    CONTENT_EVENT_TYPES,
    CancelledEvent,
    DoneEvent,
    Event,
    FallbackEvent,
    LogprobsEvent,
    PausedEvent,
    RetryEvent,
    StartEvent,
    StatusEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallDeltaEvent,
    ToolCallEvent,
    ToolCallStartEvent,
    UsageEvent,
    event_adapter,
    text_event,
)
from .messages import Message, Prompt, Role, ThinkingBlock, ToolCall, to_messages
from .parts import PART_TYPES, Audio, Detail, Document, Image, Part, Text
from .request import ChatRequest, Effort, HttpRequest, ResponseFormat, Tool
from .response import ChatResponse, FinishReason, TokenLogprob, TopLogprob, Usage

__all__ = [
    "CONTENT_EVENT_TYPES",
    "PART_TYPES",
    "Audio",
    "CancelledEvent",
    "ChatRequest",
    "ChatResponse",
    "Detail",
    "Document",
    "DoneEvent",
    "Effort",
    "Event",
    "FallbackEvent",
    "FinishReason",
    "HttpRequest",
    "Image",
    "LogprobsEvent",
    "Message",
    "Part",
    "PausedEvent",
    "Prompt",
    "ResponseFormat",
    "RetryEvent",
    "Role",
    "StartEvent",
    "StatusEvent",
    "Text",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingEvent",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallDeltaEvent",
    "ToolCallEvent",
    "ToolCallStartEvent",
    "TopLogprob",
    "Usage",
    "UsageEvent",
    "event_adapter",
    "text_event",
    "to_messages",
]
