"""Ollama's native chat API, local (`ollama serve`) or Ollama Cloud.

Ollama streams newline-delimited JSON, not Server-Sent Events: one object per line, each
with a piece of `message`, and a last line with `done: true`, the stop reason and the token
counts. Tool calls and their arguments arrive whole, as objects.

Streaming spec: https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
Thinking: https://docs.ollama.com/capabilities/thinking
Tool calling: https://docs.ollama.com/capabilities/tool-calling
Images: https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-images
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union

from ..types import (
    ChatRequest,
    DoneEvent,
    Event,
    FinishReason,
    HttpRequest,
    Image,
    Message,
    Part,
    Text,
    ThinkingEvent,
    UsageEvent,
)
from . import builtin_tools, controls, logprobs
from .common import (
    Endpoint,
    FrameLike,
    auth_headers,
    drop_none,
    finish_reason,
    join_url,
    merge_extra,
    not_an_object,
    truncated,
    typed_body_errors,
    typed_errors,
    usage_from,
)
from .errors import error_from_payload
from .openai_chat import tool_schema
from .parts import text_only, unsupported
from .shapes import FrameJson
from .think import ThinkTagSplitter
from .toolcalls import ToolCallAssembler

FRAMING = "ndjson"

# NOTE: "load" and "unload" answer an empty request that only (un)loads the model: "other".
FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
}


def _think(thinking: Any) -> Union[bool, str, None]:
    if thinking is None or isinstance(thinking, bool):
        return thinking
    if isinstance(thinking, int):
        # NOTE: Ollama takes no token budget, only on/off or a level name (gpt-oss).
        return thinking > 0
    return str(thinking)


_TEXT_ONLY = {"system": "a system prompt", "assistant": "an assistant message"}


def _with_parts(provider: str, entry: Dict[str, Any], parts: List[Part]) -> Dict[str, Any]:
    """The message's text, and its images as base64 beside it, as Ollama takes them."""
    if entry["role"] in _TEXT_ONLY:
        entry["content"] = text_only(provider, parts, _TEXT_ONLY[entry["role"]])
        return entry
    images: List[str] = []
    for part in parts:
        if isinstance(part, Image) and part.data is None:
            raise unsupported(provider, part, "Ollama takes images only as data: fetch it "
                              "and pass Image(data=...)")
        if isinstance(part, Image):
            images.append(part.base64)
        elif not isinstance(part, Text):
            raise unsupported(provider, part, "Ollama takes text and images only")
    entry["content"] = "\n\n".join(p.text for p in parts if isinstance(p, Text))
    if images:
        entry["images"] = images
    return entry


def _messages(provider: str, messages: List[Message]) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    # A tool message may not name its tool; the assistant message before it does.
    names: Dict[str, str] = {}
    for message in messages:
        content = message.content
        entry: Dict[str, Any] = {"role": message.role, "content": content}
        if not isinstance(content, str):  # parts: a string, the hot path, takes this one test
            entry = _with_parts(provider, entry, content)
        if message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "")
            # NOTE: Ollama matches a result to its call by tool_name, not by an id.
            entry["tool_name"] = name
            out.append(drop_none(entry))
            continue
        thinking = "".join(block.text for block in message.thinking)
        if thinking:
            entry["thinking"] = thinking
        if message.tool_calls:
            names.update({call.id: call.name for call in message.tool_calls})
            # NOTE: arguments go back as an object, not as the JSON string OpenAI wants.
            entry["tool_calls"] = [
                {"function": {"name": call.name, "arguments": call.arguments}}
                for call in message.tool_calls
            ]
        out.append(entry)
    return out


def build_request(request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
    body: Dict[str, Any] = {
        "model": request.model,
        "messages": _messages(endpoint.provider, request.messages),
        "stream": request.stream,
        "think": _think(request.thinking),
    }
    builtin_tools.none(request, endpoint, "Ollama")
    # NOTE: Ollama has no tool_choice; "none" is honoured by not offering the tools.
    if request.tools and request.tool_choice != "none":
        body["tools"] = [tool_schema(t) for t in request.tools]
    if request.response_format is not None:
        body["format"] = request.response_format.json_schema
    sampling, top_level = controls.ollama(request, endpoint)
    options = drop_none({"num_predict": request.max_tokens, "temperature": request.temperature})
    options.update(sampling)
    if options:
        body["options"] = options
    body.update(top_level)
    body = merge_extra(drop_none(body), request.extra_body)
    headers = auth_headers(
        endpoint,
        accept="application/x-ndjson" if request.stream else "application/json",
        request=request,
    )
    url = join_url(endpoint.base_url, "api/chat", request.query)
    return HttpRequest("POST", url, headers, body)


class Decoder:
    """Ollama chat lines to events; one instance per response."""

    def __init__(self, provider: str, logprobs: bool = False) -> None:
        self._provider = provider
        self._json = FrameJson(provider)
        self._logprobs = logprobs
        self._calls = ToolCallAssembler()
        self._think = ThinkTagSplitter()
        self._done = False

    @typed_errors
    def feed(self, frame: FrameLike) -> List[Event]:
        if self._done:
            return []
        chunk = self._json.load(frame.data)
        return self.feed_chunk(chunk) if isinstance(chunk, dict) else []

    def feed_chunk(self, chunk: Dict[str, Any]) -> List[Event]:
        """Events for one parsed line."""
        if chunk.get("error"):
            # NOTE: a failure after the 200 is a line of its own: {"error": "text"}.
            raise error_from_payload(self._provider, chunk)
        events: List[Event] = []
        message = chunk.get("message") or {}
        thinking = message.get("thinking")
        if isinstance(thinking, str) and thinking:
            events.append(ThinkingEvent(text=thinking))
        content = message.get("content")
        if isinstance(content, str) and content:
            # NOTE: without `think`, reasoning models put <think> tags in the content.
            events.extend(self._think.feed(content))
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                function = call.get("function") or {}
                events.extend(
                    self._calls.whole(
                        call.get("id") or None,
                        function.get("name") or "",
                        function.get("arguments") or {},
                    )
                )
        if self._logprobs:
            events.extend(logprobs.openai_event(chunk.get("logprobs")))
        if chunk.get("done") is True:
            events.extend(self._end(chunk))
        return events

    def _end(self, chunk: Dict[str, Any]) -> List[Event]:
        self._done = True
        events = self._think.close()
        reason: Optional[str] = chunk.get("done_reason")
        # NOTE: Ollama says "stop" after tool calls; there is no tool-use reason.
        normalised = finish_reason(FINISH_REASONS, reason, made_calls=bool(self._calls))
        usage = usage_from(chunk, input="prompt_eval_count", output="eval_count")
        if usage is not None:
            events.append(UsageEvent(usage=usage))
        events.append(
            DoneEvent(
                finish_reason=normalised,
                usage=usage,
                provider_finish_reason=reason,
                model=chunk.get("model"),
            )
        )
        return events

    @typed_errors
    def close(self) -> List[Event]:
        if not self._done:
            raise truncated(self._provider, "its last line with done: true")
        return []


def new_decoder(provider: str, logprobs: bool = False) -> Decoder:
    return Decoder(provider, logprobs)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete, non-streamed /api/chat response."""
    if not isinstance(body, dict):
        raise not_an_object(provider, body)
    decoder = Decoder(provider, logprobs=True)
    return decoder.feed_chunk(body) + decoder.close()
