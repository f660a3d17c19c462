"""The mechanics every wire renderer shares, written once: the plan a script resolves to,
the description each wire module fills in, text splitting, ids, token counts, the
deterministic default reply, and the JSON, SSE and header helpers.

A wire module turns a `Plan` into bytes and describes itself with a `Wire`; everything
that does not depend on a provider's dialect lives here, so a new wire (or a new kind of
content) is one module plus one entry in the registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ...types import Part, RateLimit
from ..script import CitationSpec, ServerToolSpec, TokenCounts, ToolCallSpec
from .errors import ErrorInfo

CREATED = 1767225600
"""Every fake response claims to be from 2026-01-01T00:00:00Z: timestamps stay stable."""

DEFAULT_MODEL = "fake-model"

SSE_TYPE = "text/event-stream; charset=utf-8"

SSE_PING = b": ping\n\n"
"""An SSE comment: what most providers send to keep a quiet stream open."""

OBFUSCATION = ("Xq3", "a", "kT0pZr", "9Lm", "QwE4Rt8Yu", "b7", "mN2vC", "", "Hj5kL0pQ", "z")
"""OpenAI pads delta events with a random `obfuscation` string; the fake cycles these."""


@dataclass(frozen=True)
class Rendered:
    """One HTTP response, ready to write: the body is the frames joined in order."""

    status: int
    headers: Tuple[Tuple[str, str], ...]
    frames: Tuple[bytes, ...]
    keepalive: Optional[bytes] = None
    """Bytes a stalled stream sends to keep the connection alive (None: stay silent)."""
    truncated: bool = False
    """The stream stops before its terminal event (truncation or an in-stream error)."""

    @property
    def body(self) -> bytes:
        return b"".join(self.frames)

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return ""


@dataclass(frozen=True)
class Call:
    index: int
    id: str
    name: str
    arguments: ToolCallSpec


@dataclass(frozen=True)
class Plan:
    """The script resolved against the request: everything a wire renderer needs."""

    model: str
    text: Optional[str]
    thinking: Optional[str]
    calls: Tuple[Call, ...]
    usage: TokenCounts
    finish: str
    """A normalised reason (stop, length, tool_calls, content_filter) or a verbatim word."""
    reason: str
    """The finish reason in the wire's own word."""
    token: str
    """Hex that makes this response's ids unique and stable."""
    chunk_size: Optional[int]
    include_usage: bool
    refusal: Optional[str] = None
    citations: Tuple[CitationSpec, ...] = ()
    """With their spans resolved: start and end always set."""
    server_tools: Tuple[ServerToolSpec, ...] = ()
    """With their ids set."""
    top_logprobs: Optional[int] = None
    """None unless the request asked for logprobs; then how many alternatives it asked for."""

    def text_pieces(self) -> List[str]:
        return split_text(self.text or "", self.chunk_size)

    def thinking_pieces(self) -> List[str]:
        return split_text(self.thinking or "", self.chunk_size)

    def argument_pieces(self, arguments: str) -> List[str]:
        return split_arguments(arguments, self.chunk_size)


StreamRenderer = Callable[[Plan], Tuple[List[bytes], int]]
"""The frames of a whole stream and where its ending (the terminal events) begins."""

ErrorBody = Callable[[ErrorInfo, int, str, Any], Tuple[bytes, str]]
"""(info, status, token, retry_after) to an error body and its content type."""

ErrorFrames = Callable[[Optional[Mapping[str, Any]], ErrorInfo, str, Plan, int], List[bytes]]
"""(custom payload, info, message, plan, frames sent) to the frames of an in-stream error."""


def stream_flag(body: Any, path: str) -> bool:
    """The common rule: a stream only when the body says `"stream": true`."""
    return isinstance(body, Mapping) and body.get("stream") is True


def body_model(body: Any, path: str) -> str:
    """The common rule: the model the body names, or the fake's default."""
    model = body.get("model") if isinstance(body, Mapping) else None
    return model if isinstance(model, str) and model else DEFAULT_MODEL


def no_get(path: str) -> Optional[Rendered]:
    return None


def no_parts(body: Any) -> List[Part]:
    return []


@dataclass(frozen=True)
class Wire:
    """What the renderer and the fake server know about one wire format."""

    name: str
    base_path: str
    """The path a preset's base URL ends with on the fake (`/v1`, `/v1beta`, ``)."""
    serves: Callable[[str], bool]
    """Whether a POST path is this wire's chat endpoint, whatever the base URL prefix."""
    stream: StreamRenderer
    body: Callable[[Plan], bytes]
    error_body: ErrorBody
    error_frames: ErrorFrames
    prompt: Callable[[Any], str]
    """The text of the request's last user message."""
    malformed: bytes
    """A frame whose JSON was cut in the middle, as a buggy proxy or server might send."""
    finish: Mapping[str, str]
    """The wire's word for each normalised finish reason; other words are sent verbatim."""
    stream_type: str = SSE_TYPE
    body_type: str = "application/json"
    keepalive: Optional[bytes] = SSE_PING
    """What the provider sends to keep a quiet stream open (None: it sends nothing)."""
    cache_control: bool = True
    """Whether a stream's headers carry `Cache-Control: no-cache`."""
    request_id: Optional[Tuple[str, int]] = None
    """The request-id header's name and how many hex digits of the token follow `req_`."""
    call_prefix: str = "call_"
    rate_limits: Optional[Callable[[RateLimit, float], List[Tuple[str, str]]]] = None
    """A scripted rate-limit state as the wire's headers, given the time it is sent."""
    messages: Mapping[str, str] = field(default_factory=dict)
    """In-stream and HTTP error messages in the wire's own words, by error kind."""
    not_found: Optional[str] = None
    """A 404's message in the wire's words, with `{model}`."""
    wants_stream: Callable[[Any, str], bool] = stream_flag
    model_of: Callable[[Any, str], str] = body_model
    get: Callable[[str], Optional[Rendered]] = no_get
    """The answer to a GET of a path the wire serves besides chat (model lists, probes)."""
    parts: Callable[[Any], List[Part]] = no_parts
    """The content parts of a request's user turns and tool results, read back into
    streamchat's parts; raises `parts.UnreadablePart` for a shape the provider refuses."""


# --- text, ids and counts ---------------------------------------------------------------


def split_text(text: str, chunk_size: Optional[int] = None) -> List[str]:
    """Deltas of `chunk_size` characters, or of a few words each when it is None."""
    if not text:
        return []
    if chunk_size is not None:
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + 3]) for i in range(0, len(words), 3)]


def split_arguments(arguments: str, chunk_size: Optional[int] = None) -> List[str]:
    """Argument JSON in fragments, cut after each `:` and `,` as models tend to emit it."""
    if chunk_size is not None or not arguments:
        return split_text(arguments, chunk_size)
    return [p for p in re.findall(r"[^:,]*[:,]?", arguments) if p]


def default_reply(prompt: str) -> str:
    """The deterministic answer the fake gives when no script is queued."""
    said = " ".join(prompt.split())
    if not said:
        return "Hello! This is streamchat's fake provider."
    if len(said) > 60:
        said = said[:57].rstrip() + "..."
    return f'You said: "{said}". This is streamchat\'s fake provider.'


def estimate_tokens(text: str) -> int:
    """About four characters a token, as a plausible usage for unscripted counts."""
    return (len(text) + 3) // 4


def last_user_text(items: Any, implied_role: Optional[str] = None) -> str:
    """The text of the last user turn of a message list, whatever its content shape."""
    if not isinstance(items, list):
        return ""
    for item in reversed(items):
        if isinstance(item, Mapping) and item.get("role", implied_role) == "user":
            texts = _strings(item.get("parts", item.get("content")))
            if texts:
                return " ".join(texts)
    return ""


def _strings(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, Mapping):
        return _strings(value.get("text")) if "text" in value else _strings(value.get("content"))
    return []


def messages_prompt(body: Any) -> str:
    """The prompt of a body that keeps its turns under `messages`."""
    return last_user_text(body.get("messages")) if isinstance(body, Mapping) else ""


def token(wire: str, seq: int) -> str:
    return hashlib.sha256(f"streamchat-fake:{wire}:{seq}".encode()).hexdigest()


def signature(text: str) -> str:
    """A stable stand-in for the opaque signatures thinking blocks carry."""
    return base64.b64encode(hashlib.sha256(text.encode()).digest() * 3).decode()


# --- encoding -----------------------------------------------------------------------------


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def data(payload: str) -> bytes:
    """An unnamed SSE event."""
    return f"data: {payload}\n\n".encode()


def named(event: str, payload: str) -> bytes:
    """A named SSE event."""
    return f"event: {event}\ndata: {payload}\n\n".encode()


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- headers ------------------------------------------------------------------------------


def request_id(wire: Wire, token: str) -> List[Tuple[str, str]]:
    if wire.request_id is None:
        return []
    name, digits = wire.request_id
    return [(name, f"req_{token[:digits]}")]


def add_retry_after(headers: List[Tuple[str, str]], retry_after: Any) -> None:
    if retry_after is not None:
        headers.append(("Retry-After", number(retry_after)))


def merged(
    base: Sequence[Tuple[str, str]], extra: Sequence[Tuple[str, str]]
) -> Tuple[Tuple[str, str], ...]:
    """The base headers with the script's own ones in place of those of the same name."""
    names = {name.lower() for name, _ in extra}
    return tuple([(n, v) for n, v in base if n.lower() not in names] + list(extra))


def fake_logprobs(piece: str, top: int) -> List[Dict[str, Any]]:
    """Log probabilities for a text piece in OpenAI's shape (Chat Completions, Ollama):
    the piece as one token, made-up but stable values, `top` alternatives."""
    logprob = -round(0.05 * (1 + len(piece) % 7), 2)
    alternatives = [{"token": piece, "logprob": logprob, "bytes": list(piece.encode())}]
    alternatives += [{"token": f"<alt{i}>", "logprob": logprob - i, "bytes": None}
                     for i in range(1, top)]
    return [{"token": piece, "logprob": logprob, "bytes": list(piece.encode()),
             "top_logprobs": alternatives[:top]}]
