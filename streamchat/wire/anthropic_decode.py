"""Decoding Anthropic Messages streams and bodies into neutral events: the reading half of
`streamchat.wire.anthropic`, which builds the request and names this decoder.

Streaming spec: https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Set

from ..types import (
    DoneEvent,
    Event,
    FinishReason,
    RefusalEvent,
    TextEvent,
    ThinkingEvent,
    Usage,
    UsageEvent,
    text_event,
)
from .anthropic_blocks import Blocks
from .common import (
    FrameLike,
    finish_reason,
    not_an_object,
    text_events,
    truncated,
    typed_body_errors,
    typed_errors,
    typed_event,
    usage_from,
)
from .errors import error_from_payload
from .shapes import FrameJson
from .toolcalls import ToolCallAssembler

FORMAT_TOOL_PREFIX = "structured_output_"
"""Name prefix of the tool that carries structured output (see `format_tool`)."""


STOP_REASONS: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "refusal",
    "pause_turn": "other",
}


def _usage(payload: Any) -> Optional[Usage]:
    # NOTE: input_tokens excludes cache reads and writes; add them so input is the whole prompt.
    return usage_from(
        payload,
        input="input_tokens",
        output="output_tokens",
        cached=("cache_read_input_tokens",),
        cache_write=("cache_creation_input_tokens",),
        extra_input=("cache_read_input_tokens", "cache_creation_input_tokens"),
    )


class Decoder:
    """Messages stream events to neutral events; one instance per response.

    Each content block is tracked by its index from start to stop: tool_use blocks become
    one assembled call each (several may follow one another), and the structured-output
    tool's JSON streams out as text. `Blocks` keeps every block as sent, for citations,
    server tools and the verbatim content of the next turn.
    """

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._json = FrameJson(provider)
        self._calls = ToolCallAssembler(id_prefix="toolu")
        self._kinds: Dict[Any, str] = {}
        self._initial: Dict[Any, str] = {}
        self._streamed: Set[Any] = set()
        self._usage: Optional[Usage] = None
        self._stop_reason: Optional[str] = None
        self._stop_details: Any = None
        self._blocks = Blocks()
        self._message_id: Optional[str] = None
        self._model: Optional[str] = None
        self._done = False

    @typed_errors
    def feed(self, frame: FrameLike) -> List[Event]:
        if self._done:
            return []
        event = typed_event(frame, self._json.load)
        return [] if event is None else self.feed_event(event)

    def feed_event(self, event: Dict[str, Any]) -> List[Event]:
        """Events for one parsed stream event; unknown event types give none."""
        kind = event.get("type")
        if kind == "message_start":
            return self._start(event.get("message") or {})
        if kind == "content_block_start":
            return self._block_start(event.get("index"), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(event.get("index"), event.get("delta") or {})
        if kind == "content_block_stop":
            return self._block_stop(event.get("index"))
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            return self._end()
        if kind == "error":
            # NOTE: errors such as overloaded_error can arrive inside a 200 stream.
            self._done = True
            raise error_from_payload(self._provider, event)
        # NOTE: `ping` keeps the connection alive and carries nothing.
        return []

    def _start(self, message: Mapping[str, Any]) -> List[Event]:
        self._message_id = message.get("id") or self._message_id
        self._model = message.get("model") or self._model
        self._usage = _usage(message.get("usage"))
        return [UsageEvent(usage=self._usage)] if self._usage is not None else []

    def _block_start(self, index: Any, block: Mapping[str, Any]) -> List[Event]:
        kind = block.get("type")
        recorded = self._blocks.start(index, block)
        if kind == "text":
            self._kinds[index] = "text"
            return text_events(block.get("text"))
        if kind == "thinking":
            self._kinds[index] = "thinking"
            thinking = block.get("thinking")
            return [ThinkingEvent(text=thinking)] if isinstance(thinking, str) and thinking else []
        if kind == "redacted_thinking":
            self._kinds[index] = "redacted"
            return [ThinkingEvent(redacted=str(block.get("data") or ""))]
        if kind != "tool_use":
            # NOTE: server tools (web search) run at Anthropic; their blocks are not calls.
            self._kinds[index] = "other"
            return recorded
        initial = block.get("input")
        if isinstance(initial, dict) and initial:
            self._initial[index] = json.dumps(initial)
        name = str(block.get("name") or "")
        if name.startswith(FORMAT_TOOL_PREFIX):
            self._kinds[index] = "format"
            return []
        self._kinds[index] = "tool"
        return self._calls.start(index, block.get("id") or None, name)

    def _block_delta(self, index: Any, delta: Mapping[str, Any]) -> List[Event]:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text.__class__ is not str or not text:
                return []
            self._blocks.text(index, text)
            return [text_event({"text": text})]
        if kind == "thinking_delta":
            thinking = delta.get("thinking")
            if not isinstance(thinking, str) or not thinking:
                return []
            self._blocks.piece(index, thinking)
            return [ThinkingEvent(text=thinking)]
        if kind == "signature_delta":
            signature = str(delta.get("signature") or "")
            self._blocks.signature(index, signature)
            return [ThinkingEvent(text="", signature=signature)]
        if kind == "citations_delta":
            self._blocks.citation(index, delta.get("citation"))
            return []
        if kind == "input_json_delta":
            fragment = delta.get("partial_json")
            if not isinstance(fragment, str) or not fragment:
                return []
            self._streamed.add(index)
            if self._kinds.get(index) == "format":
                self._blocks.text(index, fragment)
                return [TextEvent(text=fragment)]
            self._blocks.piece(index, fragment)
            return self._calls.delta(index, fragment) if self._kinds.get(index) == "tool" else []
        return []

    def _block_stop(self, index: Any) -> List[Event]:
        kind = self._kinds.get(index)
        initial = self._initial.get(index) if index not in self._streamed else None
        if kind == "format":
            if index in self._streamed:
                return []
            self._blocks.chars += len(initial or "{}")
            return [TextEvent(text=initial or "{}")]
        if kind != "tool":
            return self._blocks.stop(index)
        events: List[Event] = self._calls.delta(index, initial) if initial else []
        events.extend(self._calls.finish(index))
        return events

    def _message_delta(self, event: Mapping[str, Any]) -> List[Event]:
        delta = event.get("delta") or {}
        self._stop_reason = delta.get("stop_reason") or self._stop_reason
        self._stop_details = delta.get("stop_details") or self._stop_details
        update = _usage(event.get("usage"))
        if update is None:
            return []
        if not update.input_tokens and self._usage is not None:
            # NOTE: message_delta may report input_tokens 0; message_start's count stands.
            update = update.model_copy(update={"input_tokens": None, "total_tokens": None})
        self._usage = update if self._usage is None else self._usage.merged(update)
        return [UsageEvent(usage=self._usage)]

    def _end(self) -> List[Event]:
        self._done = True
        events: List[Event] = self._calls.finish_all()
        reason = self._stop_reason
        normalised = finish_reason(STOP_REASONS, reason)
        if reason == "tool_use" and not self._calls and "format" in self._kinds.values():
            # NOTE: the forced structured-output tool is the answer, not a call to run.
            normalised = "stop"
        if reason == "refusal":
            # NOTE: a refusal may come with an explanation (stop_details), or with none.
            details = self._stop_details if isinstance(self._stop_details, dict) else {}
            explanation = details.get("explanation")
            events.append(RefusalEvent(text=explanation if isinstance(explanation, str) else ""))
        content = self._blocks.content()
        events.append(
            DoneEvent(
                finish_reason=normalised,
                usage=self._usage,
                provider_finish_reason=reason,
                response_id=self._message_id,
                model=self._model,
                provider_data={"anthropic": {"content": content}} if content else {},
            )
        )
        return events

    @typed_errors
    def close(self) -> List[Event]:
        if self._done:
            return []
        raise truncated(self._provider, "message_stop")


def new_decoder(provider: str, logprobs: bool = False) -> Decoder:
    """`logprobs` is never set here: the Messages API has none, so asking is refused when
    the request is built."""
    return Decoder(provider)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete, non-streamed message object."""
    if not isinstance(body, dict):
        raise not_an_object(provider, body)
    if body.get("type") == "error":
        raise error_from_payload(provider, body)
    stream: List[Dict[str, Any]] = [{"type": "message_start", "message": dict(body, content=[])}]
    for index, block in enumerate(body.get("content") or ()):
        if not isinstance(block, dict):
            continue
        stream.append({"type": "content_block_start", "index": index, "content_block": block})
        if block.get("type") == "thinking" and block.get("signature"):
            signature = {"type": "signature_delta", "signature": block["signature"]}
            stream.append({"type": "content_block_delta", "index": index, "delta": signature})
        stream.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": body.get("stop_reason"), "stop_details": body.get("stop_details")}
    stream.append({"type": "message_delta", "delta": delta})
    stream.append({"type": "message_stop"})
    decoder = Decoder(provider)
    return [e for event in stream for e in decoder.feed_event(event)]
