"""The neutral vocabulary every layer speaks: requests, events and the final response.

Nothing here knows a provider or touches I/O, so the same models describe an OpenAI stream,
an Anthropic stream and a replayed recording alike. Events are frozen because they are shared
between the worker that makes them and the thread that consumes them.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Dict, List, Literal, Mapping, Optional, Type, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal[
    "stop", "length", "tool_calls", "content_filter", "cancelled", "paused", "other"
]
Effort = Literal["minimal", "low", "medium", "high"]


class ToolCall(BaseModel):
    """A complete tool call requested by the model."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The provider's id for the call (synthesised where the provider has none)."""
    name: str
    """The tool's name."""
    arguments: Dict[str, Any] = Field(default_factory=dict)
    """The arguments, parsed from JSON."""
    raw_arguments: str = "{}"
    """The arguments exactly as the provider sent them."""
    signature: Optional[str] = None
    """An opaque token some providers (Gemini) need sent back with the call."""


class ThinkingBlock(BaseModel):
    """One block of reasoning, kept so it can be sent back unchanged in a later turn."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    """The visible reasoning text."""
    signature: Optional[str] = None
    """The provider's signature over the block (Anthropic needs it back with tool use)."""
    redacted: Optional[str] = None
    """Encrypted reasoning the provider would not show (Anthropic redacted_thinking)."""


class Message(BaseModel):
    """One entry of a conversation, in a shape every adapter can translate."""

    role: Role
    """system, user, assistant or tool."""
    content: str = ""
    """The text of the message (the result, for a tool message)."""
    tool_calls: List[ToolCall] = Field(default_factory=list)
    """Calls the assistant asked for."""
    tool_call_id: Optional[str] = None
    """For a tool message: the call it answers."""
    name: Optional[str] = None
    """For a tool message: the tool's name (Gemini matches results by name)."""
    thinking: List[ThinkingBlock] = Field(default_factory=list)
    """Reasoning blocks of an assistant message, for providers that want them back."""
    interrupted: bool = False
    """True when this assistant message was cut short by an interrupt."""

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Optional[List[ToolCall]] = None) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or [])

    @classmethod
    def tool(cls, tool_call_id: str, content: Any, name: Optional[str] = None) -> Message:
        """A tool result; anything that is not a string is sent as JSON."""
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        return cls(role="tool", content=text, tool_call_id=tool_call_id, name=name)


class Tool(BaseModel):
    """A function the model may call, described once for every provider."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: Dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    """JSON schema of the arguments object."""

    @classmethod
    def from_model(
        cls, model: Type[BaseModel], name: Optional[str] = None, description: Optional[str] = None
    ) -> Tool:
        """Describe a tool whose arguments are the fields of a pydantic model."""
        schema = model.model_json_schema()
        doc = description if description is not None else schema.pop("description", "")
        schema.pop("title", None)
        return cls(name=name or model.__name__, description=doc or "", parameters=schema)

    @classmethod
    def from_function(cls, func: Callable[..., Any], name: Optional[str] = None) -> Tool:
        """Describe a tool from a typed Python function: its signature is the schema."""
        fields: Dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = Any if param.annotation is param.empty else param.annotation
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (annotation, default)
        arguments_model: Type[BaseModel] = create_model(func.__name__, **fields)
        description = inspect.getdoc(func) or ""
        return cls.from_model(arguments_model, name=name or func.__name__, description=description)


class ResponseFormat(BaseModel):
    """Structured output: the JSON schema the answer must follow."""

    model_config = ConfigDict(frozen=True)

    name: str = "response"
    json_schema: Dict[str, Any]
    strict: bool = True


class ChatRequest(BaseModel):
    """What the caller wants, before any provider has shaped it."""

    model: str
    messages: List[Message]
    tools: List[Tool] = Field(default_factory=list)
    tool_choice: Optional[str] = None
    """"auto", "none", "required", or the name of one tool to force."""
    response_format: Optional[ResponseFormat] = None
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    thinking: Union[bool, int, Effort, None] = None
    """True, a token budget, or an effort level; None leaves the provider's default."""
    stream: bool = True
    extra_body: Dict[str, Any] = Field(default_factory=dict)
    """Provider-specific fields merged into the request body last."""


@dataclass(frozen=True)
class HttpRequest:
    """The exact HTTP request an adapter wants sent; compared by equality in tests.

    Headers and body stay out of the repr because headers carry the API key.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    json: Optional[Dict[str, Any]] = field(default=None, repr=False)


class Usage(BaseModel):
    """Token counts, normalised across providers; None where the provider did not say."""

    model_config = ConfigDict(frozen=True)

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    cached_input_tokens: Optional[int] = None
    """Input tokens served from the provider's prompt cache (a subset of input_tokens)."""
    reasoning_tokens: Optional[int] = None
    """Output tokens spent on reasoning (a subset of output_tokens)."""
    cost_usd: Optional[float] = None
    """Price of the call from the price table; None when the model's price is unknown."""

    def merged(self, newer: Usage) -> Usage:
        """Counts from a later report win; counts it does not mention are kept."""
        values = self.model_dump()
        values.update(newer.model_dump(exclude_none=True))
        if newer.total_tokens is None and values["input_tokens"] is not None:
            values["total_tokens"] = values["input_tokens"] + (values["output_tokens"] or 0)
        return Usage(**values)


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
        UsageEvent,
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
    {"text", "thinking", "tool_call_start", "tool_call_delta", "tool_call"}
)
"""Events that show output to the caller: after one of these, a failure is never retried."""


class ChatResponse(BaseModel):
    """Everything a stream produced, folded into one object."""

    provider: str = ""
    model: str = ""
    text: str = ""
    thinking: Optional[str] = None
    thinking_blocks: List[ThinkingBlock] = Field(default_factory=list)
    tool_calls: List[ToolCall] = Field(default_factory=list)
    usage: Optional[Usage] = None
    finish_reason: Optional[FinishReason] = None
    """None while the stream has not ended (a `.partial` of a failure)."""
    provider_finish_reason: Optional[str] = None
    response_id: Optional[str] = None
    parsed: Any = None
    """The validated structured output, when a response_format was given."""

    def to_message(self) -> Message:
        """The assistant message to append to a conversation."""
        return Message(
            role="assistant",
            content=self.text,
            tool_calls=list(self.tool_calls),
            thinking=list(self.thinking_blocks),
            interrupted=self.finish_reason in ("cancelled", "paused"),
        )
