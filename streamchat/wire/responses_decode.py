"""Decoding Responses API streams and bodies into neutral events: the reading half of
`streamchat.wire.openai_responses`, which builds the request and names this decoder.

Streaming spec: https://platform.openai.com/docs/api-reference/responses-streaming
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Optional, Set

from ..errors import StreamChatError
from ..types import (
    DoneEvent,
    Event,
    FinishReason,
    RefusalEvent,
    ThinkingEvent,
    Usage,
    UsageEvent,
)
from . import logprobs
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
from .responses_items import OutputItems, synthetic_stream
from .shapes import FrameJson
from .toolcalls import ToolCallAssembler

INCOMPLETE_REASONS: Mapping[str, FinishReason] = {
    "max_output_tokens": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
}


class Decoder:
    """Responses stream events to neutral events; one instance per response.

    Function calls are the subtle part. A call is opened by `response.output_item.added`
    and then referred to by `item_id` (the output item's `fc_...` id), by `call_id` (the
    `call_...` id a tool result must quote), by `output_index`, or, behind some proxies, by
    ids that change on every event. Every identifier seen for a call becomes an alias of
    its position in the output, so fragments land on the right call whatever they are keyed
    by; an event that names no known alias and no index belongs to the call still being
    streamed. Calls complete at `response.output_item.done` but are released strictly in
    output order, so a call that finishes early waits for the calls before it. The alias
    map is kept here, not in ToolCallAssembler.alias, because that release order needs
    each call's position.
    """

    def __init__(self, provider: str, logprobs: bool = False) -> None:
        self._provider = provider
        self._json = FrameJson(provider)
        self._logprobs = logprobs
        """Every text delta carries a `logprobs` list, empty unless asked for: read only
        when asked."""
        self._calls = ToolCallAssembler()
        self._canonical: Dict[Hashable, int] = {}
        self._order: List[int] = []
        self._ready: Set[int] = set()
        self._released: Set[int] = set()
        self._current: Optional[int] = None
        self._output = OutputItems()
        self._response_id: Optional[str] = None
        self._model: Optional[str] = None
        self._done = False

    @typed_errors
    def feed(self, frame: FrameLike) -> List[Event]:
        if self._done:
            return []
        if frame.data == "[DONE]":
            # NOTE: some compatible servers add Chat-style [DONE]; only the terminal event counts.
            return []
        event = typed_event(frame, self._json.load)
        return [] if event is None else self.feed_event(event)

    def feed_event(self, event: Dict[str, Any]) -> List[Event]:
        """Events for one parsed stream event; unknown event types give none."""
        kind = event.get("type")
        if kind in ("response.created", "response.in_progress"):
            self._remember(event.get("response"))
        elif kind == "response.output_text.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self._output.chars += len(delta)
                if self._logprobs:
                    return text_events(delta) + logprobs.openai_event(event.get("logprobs"))
                return text_events(delta)
        elif kind == "response.refusal.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self._output.refused = True
                return [RefusalEvent(text=delta)]
        elif kind == "response.content_part.added":
            self._output.part_added(event)
        elif kind == "response.output_text.annotation.added":
            return self._output.annotation(event)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = event.get("delta")
            return [ThinkingEvent(text=delta)] if isinstance(delta, str) and delta else []
        elif kind == "response.reasoning_summary_part.added":
            # NOTE: summary parts are separate paragraphs; the deltas carry no separator.
            if isinstance(event.get("summary_index"), int) and event["summary_index"] > 0:
                return [ThinkingEvent(text="\n\n")]
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                return self._open(event, item)
        elif kind == "response.function_call_arguments.delta":
            key = self._find(event, {}, fallback=True)
            events: List[Event] = []
            if key is None:
                # NOTE: a fragment of a call never announced by output_item.added opens it.
                events = self._open(event, {})
                key = self._order[-1]
            delta = event.get("delta")
            if isinstance(delta, str):
                events.extend(self._calls.delta(key, delta))
            return events
        elif kind == "response.function_call_arguments.done":
            key = self._find(event, {}, fallback=True)
            if key is not None:
                self._calls.set_name(key, event.get("name") or "")
                arguments = event.get("arguments")
                if isinstance(arguments, str):
                    self._calls.replace_arguments(key, arguments)
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                self._output.item_done(event, item)
                return self._close_call(event, item)
            return self._output.item_done(event, item)
        elif kind == "response.completed":
            return self._end(event.get("response"), incomplete=False)
        elif kind == "response.incomplete":
            return self._end(event.get("response"), incomplete=True)
        elif kind == "response.failed":
            raise self._failure(event.get("response") or {})
        elif kind == "error":
            # NOTE: an `error` event can arrive after a 200; a response.failed may follow it.
            payload = {k: v for k, v in event.items() if k not in ("type", "sequence_number")}
            raise error_from_payload(self._provider, payload)
        return []

    def _remember(self, response: Any) -> None:
        if isinstance(response, dict):
            self._response_id = self._response_id or response.get("id")
            self._model = response.get("model") or self._model

    def _aliases(self, event: Mapping[str, Any], item: Mapping[str, Any]) -> List[Hashable]:
        keys: List[Hashable] = [
            value
            for value in (
                item.get("id"), item.get("call_id"),
                event.get("item_id"), event.get("call_id"), event.get("id"),
            )
            if isinstance(value, str) and value
        ]
        index = event.get("output_index")
        if isinstance(index, int) and not isinstance(index, bool):
            keys.append(("output_index", index))
        return keys

    def _find(
        self, event: Mapping[str, Any], item: Mapping[str, Any], *, fallback: bool
    ) -> Optional[int]:
        """The call an event is about, registering any new alias it carries.

        With `fallback`, an event that names no alias we know and no output_index (ids
        missing, or rotated by a proxy) continues the call still being streamed.
        """
        aliases = self._aliases(event, item)
        key = next((self._canonical[a] for a in aliases if a in self._canonical), None)
        unindexed = not any(isinstance(a, tuple) for a in aliases)
        if key is None and fallback and unindexed and self._current not in self._ready:
            key = self._current
        if key is not None:
            for alias in aliases:
                self._canonical.setdefault(alias, key)
        return key

    def _open(self, event: Mapping[str, Any], item: Mapping[str, Any]) -> List[Event]:
        existing = self._find(event, item, fallback=False) if item else None
        if existing is not None:
            self._calls.set_name(existing, item.get("name") or "")
            return []
        key = len(self._order)
        self._order.append(key)
        self._current = key
        call_id = item.get("call_id") or event.get("call_id") or None
        arguments = item.get("arguments")
        events = self._calls.start(
            key, call_id, item.get("name") or "", arguments if isinstance(arguments, str) else ""
        )
        for alias in self._aliases(event, item):
            self._canonical.setdefault(alias, key)
        return events

    def _close_call(self, event: Mapping[str, Any], item: Mapping[str, Any]) -> List[Event]:
        key = self._find(event, item, fallback=True)
        events: List[Event] = []
        if key is None:
            # NOTE: some proxies send a function call only as a finished output item.
            events.extend(self._open(event, item))
            key = self._order[-1]
        self._calls.set_name(key, item.get("name") or "")
        arguments = item.get("arguments")
        if isinstance(arguments, str):
            self._calls.replace_arguments(key, arguments)
        self._ready.add(key)
        for pending in self._order:
            if pending in self._released:
                continue
            if pending not in self._ready:
                break
            self._released.add(pending)
            events.extend(self._calls.finish(pending))
        return events

    def _end(self, response: Any, *, incomplete: bool) -> List[Event]:
        self._done = True
        response = response if isinstance(response, dict) else {}
        # NOTE: the response's own status decides, whatever event carried it: a
        # `response.completed` whose status is "incomplete" ran out of budget, as the
        # same response does when it is not streamed.
        incomplete = incomplete or response.get("status") == "incomplete"
        self._remember(response)
        self._response_id = response.get("id") or self._response_id
        events: List[Event] = self._calls.finish_all()
        usage: Optional[Usage] = usage_from(
            response.get("usage"),
            input="input_tokens",
            output="output_tokens",
            total="total_tokens",
            cached=(("input_tokens_details", "cached_tokens"),),
            reasoning=(("output_tokens_details", "reasoning_tokens"),),
        )
        if usage is not None:
            events.append(UsageEvent(usage=usage))
        normalised: FinishReason
        if incomplete:
            reason = (response.get("incomplete_details") or {}).get("reason")
            # NOTE: an incomplete response that gives no reason ran out of output budget.
            normalised = finish_reason(INCOMPLETE_REASONS, reason) if reason else "length"
            raw = reason or "incomplete"
        else:
            normalised = "tool_calls" if self._calls else "stop"
            if self._output.refused and not self._calls:
                normalised = "refusal"
            raw = response.get("status") or "completed"
        events.append(
            DoneEvent(
                finish_reason=normalised,
                usage=usage,
                provider_finish_reason=raw,
                response_id=self._response_id,
                model=self._model,
                provider_data=self._output.provider_data(response),
            )
        )
        return events

    def _failure(self, response: Mapping[str, Any]) -> StreamChatError:
        self._done = True
        error = response.get("error")
        if not isinstance(error, dict) or not error.get("message"):
            error = {"message": "the response failed without saying why", "code": "server_error"}
        return error_from_payload(self._provider, {"error": error})

    @typed_errors
    def close(self) -> List[Event]:
        if self._done:
            return []
        raise truncated(self._provider, "response.completed")


def new_decoder(provider: str, logprobs: bool = False) -> Decoder:
    return Decoder(provider, logprobs)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete, non-streamed response object."""
    if not isinstance(body, dict):
        raise not_an_object(provider, body)
    if body.get("object") != "response" and body.get("error") and not body.get("output"):
        raise error_from_payload(provider, body)
    # A whole body carries logprobs only when they were asked for.
    decoder = Decoder(provider, logprobs=True)
    decoder.feed_event({"type": "response.created", "response": body})
    events: List[Event] = []
    for index, item in enumerate(body.get("output") or ()):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            parts = [p.get("text") for p in item.get("summary") or () if isinstance(p, dict)]
            if not parts:
                parts = [p.get("text") for p in item.get("content") or () if isinstance(p, dict)]
            text = "\n\n".join(p for p in parts if isinstance(p, str) and p)
            if text:
                events.append(ThinkingEvent(text=text))
        else:
            # NOTE: messages go through their stream events (text, refusal, annotations);
            # function calls and server tool items through their output_item.done.
            done = {"type": "response.output_item.done", "output_index": index, "item": item}
            for event in synthetic_stream(index, item) or [done]:
                events.extend(decoder.feed_event(event))
    status = body.get("status") or "completed"
    events.extend(decoder.feed_event({"type": f"response.{status}", "response": body}))
    return events
