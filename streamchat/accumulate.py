"""Folding events into a ChatResponse: one fold shared by every provider, by
`Stream.final()` and by the `.partial` attached to errors, so all three always agree.

A Stream folds each event as it hands it over instead of keeping the events: a long
answer then costs its text, not a few hundred bytes of model object per token."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from .types import (
    CancelledEvent,
    ChatResponse,
    Citation,
    CitationEvent,
    DoneEvent,
    Event,
    FinishReason,
    LogprobsEvent,
    PausedEvent,
    RateLimit,
    RefusalEvent,
    ServerToolCall,
    ServerToolCallEvent,
    ServerToolResultEvent,
    StartEvent,
    TextEvent,
    ThinkingBlock,
    ThinkingEvent,
    TokenLogprob,
    ToolCall,
    ToolCallEvent,
    Usage,
    UsageEvent,
)

_RUN = 64
"""Text pieces are joined this many at a time."""


class _Block:
    __slots__ = ("parts", "redacted", "signature")

    def __init__(self, redacted: Optional[str] = None) -> None:
        self.parts: List[str] = []
        self.signature: Optional[str] = None
        self.redacted = redacted


class ResponseSnapshot:
    """The response so far. Mutable, because copying the text on every delta would make
    a long answer cost quadratic time."""

    def __init__(self) -> None:
        self.provider = ""
        self.model = ""
        self.text_parts: List[str] = []
        self._runs = 0
        """How many items at the front of text_parts are joined runs of pieces."""
        self.thinking_blocks: List[_Block] = []
        self.thinking_open = False
        self.tool_calls: List[ToolCall] = []
        self.refusal: Optional[List[str]] = None
        self.citations: List[Citation] = []
        self.server_tool_calls: List[ServerToolCall] = []
        self.provider_data: Dict[str, Dict[str, Any]] = {}
        self.usage: Optional[Usage] = None
        self.finish_reason: Optional[FinishReason] = None
        self.provider_finish_reason: Optional[str] = None
        self.response_id: Optional[str] = None
        self.logprobs: Optional[List[TokenLogprob]] = None
        self.request_id: Optional[str] = None
        self.rate_limit: Optional[RateLimit] = None
        """Both from the response headers, set by the consumer from its worker."""

    def to_response(self) -> ChatResponse:
        blocks = [
            ThinkingBlock(text="".join(b.parts), signature=b.signature, redacted=b.redacted)
            for b in self.thinking_blocks
        ]
        thinking = "".join(b.text for b in blocks) if blocks else None
        return ChatResponse(
            provider=self.provider,
            model=self.model,
            text="".join(self.text_parts),
            thinking=thinking,
            thinking_blocks=blocks,
            tool_calls=list(self.tool_calls),
            refusal=None if self.refusal is None else "".join(self.refusal),
            citations=list(self.citations),
            server_tool_calls=list(self.server_tool_calls),
            provider_data=dict(self.provider_data),
            usage=self.usage,
            finish_reason=self.finish_reason,
            provider_finish_reason=self.provider_finish_reason,
            response_id=self.response_id,
            logprobs=list(self.logprobs) if self.logprobs is not None else None,
            request_id=self.request_id,
            rate_limit=self.rate_limit,
        )

    def add(self, event: Event) -> None:
        """Apply one event."""
        if isinstance(event, TextEvent):
            parts = self.text_parts
            parts.append(event.text)
            if len(parts) - self._runs >= _RUN:
                # A token is a few characters in a ~50-byte string object: joined in
                # runs, a long answer costs about its length instead of ten times that.
                parts[self._runs:] = ["".join(parts[self._runs:])]
                self._runs += 1
        elif isinstance(event, ThinkingEvent):
            _thinking(self, event.text, event.signature, event.redacted)
        elif isinstance(event, ToolCallEvent):
            self.tool_calls.append(
                ToolCall(
                    id=event.id,
                    name=event.name,
                    arguments=event.arguments,
                    raw_arguments=event.raw_arguments,
                    signature=event.signature,
                )
            )
        elif isinstance(event, UsageEvent):
            self.usage = _merge(self.usage, event.usage)
            if event.model:
                self.model = event.model
        elif isinstance(event, LogprobsEvent):
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend(event.logprobs)
        elif isinstance(event, RefusalEvent):
            if self.refusal is None:
                self.refusal = []
            self.refusal.append(event.text)
        elif isinstance(event, CitationEvent):
            self.citations.append(event.citation)
        elif isinstance(event, ServerToolCallEvent):
            self.server_tool_calls.append(
                ServerToolCall(id=event.id, name=event.name, input=event.input)
            )
        elif isinstance(event, ServerToolResultEvent):
            _server_result(self, event)
        elif isinstance(event, StartEvent):
            # A new attempt or a fallback provider starts from scratch: retries and
            # fallbacks only happen before any content, so nothing shown is dropped here.
            self.provider = event.provider
            self.model = event.model
            self.usage = None
            self.logprobs = None
        elif isinstance(event, DoneEvent):
            _done(self, event)
        elif isinstance(event, CancelledEvent):
            self.finish_reason = "cancelled"
        elif isinstance(event, PausedEvent):
            self.finish_reason = "paused"


def _server_result(snapshot: ResponseSnapshot, event: ServerToolResultEvent) -> None:
    calls = snapshot.server_tool_calls
    for position in range(len(calls) - 1, -1, -1):
        if calls[position].id == event.id:
            calls[position] = calls[position].model_copy(update={"output": event.output})
            return
    # A result whose call never streamed (a provider that reports only results) still counts.
    calls.append(ServerToolCall(id=event.id, name=event.name, output=event.output))


def _merge(current: Optional[Usage], newer: Usage) -> Usage:
    return newer if current is None else current.merged(newer)


def _thinking(
    snapshot: ResponseSnapshot, text: str, signature: Optional[str], redacted: Optional[str]
) -> None:
    blocks = snapshot.thinking_blocks
    if redacted is not None:
        blocks.append(_Block(redacted))
        snapshot.thinking_open = False
        return
    if not snapshot.thinking_open:
        blocks.append(_Block())
        snapshot.thinking_open = True
    block = blocks[-1]
    if text:
        block.parts.append(text)
    if signature is not None:
        block.signature = signature
        snapshot.thinking_open = False


def _done(snapshot: ResponseSnapshot, event: DoneEvent) -> None:
    snapshot.finish_reason = event.finish_reason
    snapshot.provider_finish_reason = event.provider_finish_reason
    snapshot.response_id = event.response_id or snapshot.response_id
    if event.model:
        snapshot.model = event.model
    if event.provider_data:
        snapshot.provider_data = dict(event.provider_data)
    if event.usage is not None:
        snapshot.usage = _merge(snapshot.usage, event.usage)


def fold(events: Iterable[Event], snapshot: Optional[ResponseSnapshot] = None) -> ChatResponse:
    """The ChatResponse of a sequence of events."""
    snap = snapshot or ResponseSnapshot()
    for event in events:
        snap.add(event)
    return snap.to_response()
