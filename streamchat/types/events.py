"""The events a stream yields, one frozen model per `type`: shared between the worker that
makes them and the thread that consumes them, so they never change after creation."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .response import Citation, FinishReason, TokenLogprob, Usage


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class StartEvent(_Event):
    """A request was sent (one per attempt)."""

    type: Literal["start"] = "start"
    provider: str
    """The provider id of this attempt."""
    model: str
    """The model asked for."""
    attempt: int = 1
    """1 for the first attempt at this provider, then 2, 3, ..."""


class TextEvent(_Event):
    """Visible answer text."""

    type: Literal["text"] = "text"
    text: str
    """The new piece of text."""


class ThinkingEvent(_Event):
    """Reasoning text, from thinking blocks, reasoning fields or <think> tags."""

    type: Literal["thinking"] = "thinking"
    text: str = ""
    """The new piece of reasoning."""
    signature: Optional[str] = None
    """Set once at the end of a signed thinking block; closes the block."""
    redacted: Optional[str] = None
    """Encrypted reasoning of a redacted block; the block is complete."""


class ToolCallStartEvent(_Event):
    """A tool call began."""

    type: Literal["tool_call_start"] = "tool_call_start"
    index: int
    """Position of the call among this response's calls."""
    id: str
    name: str


class ToolCallDeltaEvent(_Event):
    """A fragment of a tool call's JSON arguments."""

    type: Literal["tool_call_delta"] = "tool_call_delta"
    index: int
    id: str
    arguments: str
    """The new fragment of the arguments' JSON text."""


class ToolCallEvent(_Event):
    """A complete tool call."""

    type: Literal["tool_call"] = "tool_call"
    index: int
    id: str
    name: str
    arguments: Dict[str, Any] = Field(default_factory=dict)
    """Parsed arguments."""
    raw_arguments: str = "{}"
    """Arguments as sent."""
    signature: Optional[str] = None
    """Opaque token to send back with the call (Gemini thought signatures)."""


class UsageEvent(_Event):
    """Token counts, as soon as the provider reports them."""

    type: Literal["usage"] = "usage"
    usage: Usage
    model: Optional[str] = None
    """The model that served the request, when the counts came with its name (an error
    chunk from a router such as OpenRouter, so that `.partial` says who billed them)."""


class LogprobsEvent(_Event):
    """Log probabilities of the output tokens that just arrived; only when asked for."""

    type: Literal["logprobs"] = "logprobs"
    logprobs: List[TokenLogprob]


class StatusEvent(_Event):
    """A transient notice: keep-alive, model loading, waiting for the server."""

    type: Literal["status"] = "status"
    message: str


class RetryEvent(_Event):
    """A failed attempt will be retried after `delay` seconds."""

    type: Literal["retry"] = "retry"
    attempt: int
    """The attempt that failed."""
    max_attempts: int
    delay: float
    """Seconds until the next attempt."""
    error: str
    """What went wrong."""


class FallbackEvent(_Event):
    """Moving on to the next provider of the fallback chain."""

    type: Literal["fallback"] = "fallback"
    provider: str
    """The provider tried next."""
    model: str
    error: str
    """Why the previous provider was given up."""


class DoneEvent(_Event):
    """The stream ended normally."""

    type: Literal["done"] = "done"
    finish_reason: FinishReason = "stop"
    usage: Optional[Usage] = None
    provider_finish_reason: Optional[str] = None
    """The provider's own word for why it stopped."""
    response_id: Optional[str] = None
    model: Optional[str] = None
    """The model that answered, as the provider named it."""
    provider_data: Dict[str, Dict[str, Any]] = Field(default_factory=dict)
    """What the provider needs back on the next turn, keyed by wire format id; becomes
    `ChatResponse.provider_data` and `Message.provider_data`."""


class RefusalEvent(_Event):
    """The model declined to answer; this text is never part of the answer text."""

    type: Literal["refusal"] = "refusal"
    text: str
    """The new piece of the refusal (the provider's explanation, where it gives one)."""


class CitationEvent(_Event):
    """The answer cites a source."""

    type: Literal["citation"] = "citation"
    citation: Citation


class ServerToolCallEvent(_Event):
    """The provider started one of its built-in tools (web search, code execution, ...)."""

    type: Literal["server_tool_call"] = "server_tool_call"
    id: str
    name: str
    input: Dict[str, Any] = Field(default_factory=dict)
    """What the tool was asked: the query, the code, the URL."""


class ServerToolResultEvent(_Event):
    """A built-in tool's result, as the provider sent it."""

    type: Literal["server_tool_result"] = "server_tool_result"
    id: str
    """The id of the `server_tool_call` it answers."""
    name: str
    output: Any = None


class CancelledEvent(_Event):
    """The stream was interrupted through the cancel Event, interrupt() or close()."""

    type: Literal["cancelled"] = "cancelled"


class PausedEvent(_Event):
    """The stream was interrupted through pause()."""

    type: Literal["paused"] = "paused"


Event = Annotated[
    Union[
        StartEvent,
        TextEvent,
        ThinkingEvent,
        ToolCallStartEvent,
        ToolCallDeltaEvent,
        ToolCallEvent,
        RefusalEvent,
        CitationEvent,
        ServerToolCallEvent,
        ServerToolResultEvent,
        UsageEvent,
        LogprobsEvent,
        StatusEvent,
        RetryEvent,
        FallbackEvent,
        DoneEvent,
        CancelledEvent,
        PausedEvent,
    ],
    Field(discriminator="type"),
]
"""Any stream event; `event_adapter.validate_python(data)` rebuilds one from its dict."""

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)

text_event: Callable[[Dict[str, str]], TextEvent] = TextEvent.__pydantic_validator__.validate_python
"""`text_event({"text": t})` is `TextEvent(text=t)`, validated alike, without the Python
frame of BaseModel.__init__: a quarter of the cost, on the path every token takes."""

CONTENT_EVENT_TYPES = frozenset(
    {
        "text", "thinking", "tool_call_start", "tool_call_delta", "tool_call", "refusal",
        "citation", "server_tool_call", "server_tool_result",
    }
)
"""Events that show output to the caller: after one of these, a failure is never retried."""
