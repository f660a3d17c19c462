"""What one scripted response should contain and how it should misbehave.

A `Script` is plain data: the fake server and the `responses` helper both turn it into
the bytes a real provider would send, so the same script drives a live loopback test and
a mocked one. Content fields say what the model "answers"; fault fields say what goes
wrong on the way (an HTTP error, a stall, a cut, an in-stream error).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from ..providers import WIRE_MODULES
from ..types import RateLimit, ToolCall, Usage
from .recording import RecordedRequest

WIRES: Tuple[str, ...] = tuple(WIRE_MODULES)
"""The wire formats the fake speaks."""

ERROR_KINDS: Tuple[str, ...] = (
    "overloaded",
    "server_error",
    "rate_limit",
    "invalid_request",
    "context_overflow",
)
"""Kinds of in-stream error `error_event=` accepts; `True` means "overloaded"."""

FRAMINGS: Tuple[str, ...] = ("chunked", "content-length", "close")
RESETS: Tuple[str, ...] = ("before_headers", "after_first_byte")

ToolCallLike = Union[Mapping[str, Any], ToolCall]
Reply = Callable[[RecordedRequest], Union[str, Mapping[str, Any], "Script"]]
"""A reply that depends on the request: the answer's text, a dict of `enqueue()` fields,
or a Script."""
UsageLike = Union[Mapping[str, Any], Usage]


@dataclass(frozen=True)
class ToolCallSpec:
    """A tool call the fake model makes; arguments are kept as the JSON text to stream."""

    name: str
    arguments: Union[Dict[str, Any], str] = field(default_factory=dict)
    id: Optional[str] = None

    def arguments_json(self, separators: Tuple[str, str] = (",", ":")) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=separators, ensure_ascii=False)

    def arguments_dict(self) -> Dict[str, Any]:
        if isinstance(self.arguments, dict):
            return self.arguments
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class CitationSpec:
    """A source the fake answer cites: `start`/`end` are character offsets into the
    scripted text (the whole text when left out)."""

    url: str
    title: Optional[str] = None
    cited_text: Optional[str] = None
    start: Optional[int] = None
    end: Optional[int] = None


@dataclass(frozen=True)
class ServerToolSpec:
    """A built-in tool the fake provider "runs": what it was asked and what it returned."""

    name: str
    input: Dict[str, Any] = field(default_factory=dict)
    output: Any = None
    id: Optional[str] = None


@dataclass(frozen=True)
class TokenCounts:
    """Usage the fake reports, in the neutral vocabulary."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Script:
    """One response of the fake provider.

    Content: `text`, `thinking`, `tool_calls`, `usage`, `finish_reason` (a normalised
    reason such as "length", mapped to each provider's own word; any other string is sent
    verbatim), `model` (defaults to the model asked for). Beyond text, on the wires that
    have them: `refusal` (the model declines with this text), `citations` (dicts of url,
    title, cited_text, start, end: the span of `text` that cites), `server_tools` (dicts of
    name, input, output, id: built-in tools the provider ran).

    Depending on the request: `reply` is called with the `RecordedRequest` when the request
    arrives (its `parts`, `images`, `json`, ...) and returns the answer's text, a dict of
    these fields, or a Script, which take the place of the script's own fields.

    Pacing: `chunk_size` splits text into deltas of n characters (default: a few words per
    delta); `chunk_delay` pauses between frames.

    Headers: `rate_limit` (a `streamchat.RateLimit` or its fields as a dict) is sent in
    the provider's own rate-limit headers (OpenAI's `x-ratelimit-*`, Anthropic's
    `anthropic-ratelimit-*`; Gemini and Ollama send none), on success and error alike.

    Faults: `status`, `body`, `headers`, `retry_after` shape the HTTP response;
    `stall_after=n` sends n frames then goes silent until released or shut down, sending
    a keep-alive every `keepalive` seconds (a stall at or past the last frame keeps the
    body open after the terminal event); `truncate_after=n` ends the body cleanly after
    at most n frames, before the terminal event; `malformed_after=n` sends a frame of
    broken JSON after n frames; `error_event` ends the content with the provider's
    in-stream error (True, one of ERROR_KINDS, or the raw error payload as a dict);
    `reset` drops the connection ("before_headers" or "after_first_byte"); `framing`
    picks how the body is delimited ("chunked", "content-length" or "close").

    A frame is one SSE event or NDJSON line exactly as the provider sends it, preamble
    included (Anthropic's message_start, the Responses API's response.created, ...), so
    the same n lands at different points of different wires: `render(...).frames` shows
    where.
    """

    text: Optional[str] = None
    thinking: Optional[str] = None
    tool_calls: Tuple[ToolCallSpec, ...] = ()
    refusal: Optional[str] = None
    citations: Tuple[CitationSpec, ...] = ()
    server_tools: Tuple[ServerToolSpec, ...] = ()
    usage: Optional[TokenCounts] = None
    finish_reason: Optional[str] = None
    model: Optional[str] = None
    chunk_size: Optional[int] = None
    chunk_delay: float = 0.0
    status: int = 200
    body: Union[bytes, str, Mapping[str, Any], Sequence[Any], None] = None
    headers: Tuple[Tuple[str, str], ...] = ()
    retry_after: Union[float, str, None] = None
    rate_limit: Optional[RateLimit] = None
    stall_after: Optional[int] = None
    keepalive: Optional[float] = None
    truncate_after: Optional[int] = None
    malformed_after: Optional[int] = None
    error_event: Union[bool, str, Mapping[str, Any], None] = None
    reset: Optional[str] = None
    framing: str = "chunked"
    reply: Optional[Reply] = field(default=None, compare=False)

    @property
    def has_content(self) -> bool:
        return (
            self.text is not None or self.thinking is not None or bool(self.tool_calls)
            or self.refusal is not None or bool(self.server_tools)
        )

    @property
    def error_kind(self) -> Optional[str]:
        if self.error_event is None or self.error_event is False:
            return None
        if self.error_event is True:
            return "overloaded"
        if isinstance(self.error_event, str):
            return self.error_event
        return "custom"


def make_script(
    text: Optional[str] = None,
    thinking: Optional[str] = None,
    tool_calls: Optional[Sequence[ToolCallLike]] = None,
    usage: Optional[UsageLike] = None,
    finish_reason: Optional[str] = None,
    refusal: Optional[str] = None,
    citations: Optional[Sequence[Mapping[str, Any]]] = None,
    server_tools: Optional[Sequence[Mapping[str, Any]]] = None,
    model: Optional[str] = None,
    chunk_size: Optional[int] = None,
    chunk_delay: float = 0.0,
    status: int = 200,
    body: Union[bytes, str, Mapping[str, Any], Sequence[Any], None] = None,
    headers: Optional[Mapping[str, str]] = None,
    retry_after: Union[float, str, None] = None,
    rate_limit: Union[RateLimit, Mapping[str, Any], None] = None,
    stall_after: Optional[int] = None,
    keepalive: Optional[float] = None,
    truncate_after: Optional[int] = None,
    malformed_after: Optional[int] = None,
    error_event: Union[bool, str, Mapping[str, Any], None] = None,
    reset: Optional[str] = None,
    framing: str = "chunked",
    reply: Optional[Reply] = None,
) -> Script:
    """Build a Script from friendly arguments, refusing nonsense early.

    A mistake in a test script should fail at `enqueue()` with a clear message, not as a
    puzzling stream failure inside the code under test.
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if chunk_delay < 0:
        raise ValueError(f"chunk_delay must not be negative, not {chunk_delay}")
    if not 100 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code, not {status}")
    for name, value in (
        ("stall_after", stall_after),
        ("truncate_after", truncate_after),
        ("malformed_after", malformed_after),
    ):
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, not {value}")
    if keepalive is not None and keepalive <= 0:
        raise ValueError(f"keepalive must be a positive number of seconds, not {keepalive}")
    if isinstance(error_event, str) and error_event not in ERROR_KINDS:
        raise ValueError(
            f"error_event must be True, a dict or one of {ERROR_KINDS}, not {error_event!r}"
        )
    if reset is not None and reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, not {reset!r}")
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, not {framing!r}")
    if keepalive is not None and framing == "content-length":
        raise ValueError("keep-alive bytes cannot be sent inside a Content-Length body; "
                         "use framing='chunked' or 'close'")
    return Script(
        text=text,
        thinking=thinking,
        tool_calls=tuple(_tool_call(c) for c in tool_calls or ()),
        refusal=refusal,
        citations=tuple(_spec(CitationSpec, c, "citation", text) for c in citations or ()),
        server_tools=tuple(
            _spec(ServerToolSpec, t, "server tool", None) for t in server_tools or ()
        ),
        usage=_usage(usage),
        finish_reason=finish_reason,
        model=model,
        chunk_size=chunk_size,
        chunk_delay=chunk_delay,
        status=status,
        body=body,
        headers=tuple((headers or {}).items()),
        retry_after=retry_after,
        rate_limit=(
            rate_limit if rate_limit is None or isinstance(rate_limit, RateLimit)
            else RateLimit.model_validate(rate_limit)
        ),
        stall_after=stall_after,
        keepalive=keepalive,
        truncate_after=truncate_after,
        malformed_after=malformed_after,
        error_event=error_event,
        reset=reset,
        framing=framing,
        reply=reply,
    )


def replied(script: Script, request: RecordedRequest) -> Script:
    """The script with its `reply` applied to the request that arrived: the reply's text
    or fields take the place of the script's own."""
    if script.reply is None:
        return script
    answer = script.reply(request)
    if isinstance(answer, Script):
        return answer
    if isinstance(answer, str):
        return dataclasses.replace(script, text=answer, reply=None)
    if not isinstance(answer, Mapping):
        raise TypeError(f"a reply returns a str, a dict of fields or a Script, not {answer!r}")
    fields = make_script(**answer)
    return dataclasses.replace(script, reply=None, **{k: getattr(fields, k) for k in answer})


def _tool_call(call: ToolCallLike) -> ToolCallSpec:
    if isinstance(call, ToolCall):
        return ToolCallSpec(name=call.name, arguments=call.raw_arguments, id=call.id)
    if "name" not in call:
        raise ValueError(f"a tool call needs a name: {dict(call)!r}")
    arguments = call.get("arguments", {})
    if not isinstance(arguments, (dict, str)):
        raise ValueError(f"tool call arguments must be a dict or a JSON string: {arguments!r}")
    return ToolCallSpec(name=str(call["name"]), arguments=arguments, id=call.get("id"))


def _spec(kind: Any, given: Mapping[str, Any], what: str, text: Optional[str]) -> Any:
    try:
        spec = kind(**given)
    except TypeError as exc:
        raise ValueError(f"a scripted {what} takes the fields of {kind.__name__}: {exc}") from exc
    if isinstance(spec, CitationSpec):
        length = len(text or "")
        start, end = spec.start or 0, length if spec.end is None else spec.end
        if not 0 <= start <= end <= length:
            raise ValueError(f"citation span {start}:{end} is outside the text ({length} chars)")
        spec = dataclasses.replace(spec, start=start, end=end)
    return spec


def _usage(usage: Optional[UsageLike]) -> Optional[TokenCounts]:
    if usage is None:
        return None
    values = usage.model_dump() if isinstance(usage, Usage) else dict(usage)
    return TokenCounts(
        input_tokens=int(values.get("input_tokens") or 0),
        output_tokens=int(values.get("output_tokens") or 0),
        cached_input_tokens=int(values.get("cached_input_tokens") or 0),
        reasoning_tokens=int(values.get("reasoning_tokens") or 0),
    )
