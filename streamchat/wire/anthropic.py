"""Anthropic Messages API (`POST {base}/messages`, base `https://api.anthropic.com/v1`).

A response streams as content blocks (text, thinking, redacted thinking, tool use), each
opened, filled by deltas and closed by index, between `message_start` and `message_stop`.
Thinking blocks carry a signature that must be sent back unchanged with a later turn, so
the decoder surfaces it and the request builder returns it.

Streaming spec: https://docs.anthropic.com/en/docs/build-with-claude/streaming
Extended thinking: https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
Content parts as blocks: see `anthropic_parts`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from ..types import (
    ChatRequest,
    DoneEvent,
    Event,
    FinishReason,
    HttpRequest,
    Message,
    Part,
    RefusalEvent,
    ResponseFormat,
    Text,
    TextEvent,
    ThinkingEvent,
    Tool,
    Usage,
    UsageEvent,
    text_event,
)
from . import controls
from .anthropic_blocks import Blocks
from .anthropic_parts import FILES_BETA, add_beta, blocks, check_breakpoints, uses_files
from .common import (
    Endpoint,
    FrameLike,
    auth_headers,
    finish_reason,
    join_url,
    load_json,
    merge_extra,
    text_events,
    truncated,
    typed_body_errors,
    typed_errors,
    usage_from,
)
from .errors import error_from_payload
from .parts import text_only
from .toolcalls import ToolCallAssembler

FRAMING = "sse"

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""The API requires max_tokens; this is sent when the caller sets none."""

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

THINKING_BUDGETS: Mapping[str, int] = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
"""Token budgets for effort levels; True asks for the "low" budget."""

_MIN_BUDGET = 1024


def _thinking_budget(thinking: Any) -> Optional[int]:
    if thinking is None or thinking is False:
        return None
    if thinking is True:
        return THINKING_BUDGETS["low"]
    if isinstance(thinking, int):
        return max(_MIN_BUDGET, thinking)
    return THINKING_BUDGETS.get(str(thinking), THINKING_BUDGETS["medium"])


def _assistant_blocks(provider: str, message: Message) -> List[Dict[str, Any]]:
    blocks: List[Dict[str, Any]] = []
    # NOTE: thinking blocks go back first and unchanged, or the API rejects the turn.
    for block in message.thinking:
        if block.redacted is not None:
            blocks.append({"type": "redacted_thinking", "data": block.redacted})
        elif block.signature:
            blocks.append(
                {"type": "thinking", "thinking": block.text, "signature": block.signature}
            )
    text = message.content
    if not isinstance(text, str):
        text = text_only(provider, text, "an assistant message")
    if text:
        blocks.append({"type": "text", "text": text})
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in message.tool_calls
    )
    return blocks


def _system(provider: str, messages: List[Message]) -> Any:
    """The system prompt: one string, or text blocks when parts (cache breakpoints) ask."""
    prompts = [m for m in messages if m.role == "system" and m.content]
    if all(isinstance(m.content, str) for m in prompts):
        return "\n\n".join(m.text for m in prompts) or None
    parts = [p for m in prompts for p in _as_parts(m.content)]
    text_only(provider, parts, "a system prompt")
    return blocks(provider, parts)


def _as_parts(content: Union[str, List[Part]]) -> List[Part]:
    return [Text(content)] if isinstance(content, str) else content


def _messages(provider: str, messages: List[Message]) -> Tuple[List[Dict[str, Any]], bool]:
    """The alternating user/assistant turns, and whether any message was made of parts."""
    turns: List[Dict[str, Any]] = []
    parts = False
    for message in messages:
        if message.role == "system":
            continue
        content: Any = message.content
        if not isinstance(content, str):
            parts = True
        if message.role == "tool":
            role = "user"
            if not isinstance(message.content, str):
                content = blocks(provider, message.content)
            turn_blocks = [
                {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}
            ]
        elif message.role == "user":
            role = "user"
            if not isinstance(message.content, str):
                turn_blocks = blocks(provider, message.content)
            else:
                turn_blocks = [{"type": "text", "text": content}] if content else []
        else:
            role = "assistant"
            turn_blocks = _assistant_blocks(provider, message)
        if not turn_blocks:
            # NOTE: the API rejects empty text blocks and empty turns.
            continue
        if turns and turns[-1]["role"] == role:
            # NOTE: roles must alternate, so the results of parallel calls share one user turn.
            turns[-1]["content"].extend(turn_blocks)
        else:
            turns.append({"role": role, "content": turn_blocks})
    if turns and turns[-1]["role"] == "assistant":
        # NOTE: a final assistant turn is a prefill, which may not end in white space.
        last = turns[-1]["content"][-1]
        if last.get("type") == "text":
            last["text"] = last["text"].rstrip()
            if not last["text"]:
                turns[-1]["content"].pop()
                if not turns[-1]["content"]:
                    turns.pop()
    return turns, parts


def tool_schema(tool: Tool) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        schema["description"] = tool.description
    if tool.strict:
        schema["strict"] = True
    return schema


def tool_choice(choice: Optional[str]) -> Optional[Dict[str, Any]]:
    if choice is None:
        return None
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def format_tool(fmt: ResponseFormat) -> Dict[str, Any]:
    """The tool whose input is the structured answer.

    The Messages API has no JSON-schema response format; the documented way is a tool
    whose input_schema is the schema, forced with tool_choice. The decoder recognises the
    name prefix and reports the tool's input as answer text, not as a tool call.
    https://docs.anthropic.com/en/docs/build-with-claude/tool-use#json-mode
    """
    name = FORMAT_TOOL_PREFIX + re.sub(r"[^a-zA-Z0-9_-]", "_", fmt.name)
    return {
        "name": name[:64],
        "description": "Give the final answer as the input of this tool, following its schema.",
        "input_schema": fmt.json_schema,
    }


def build_request(request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
    system = _system(endpoint.provider, request.messages)
    turns, parts = _messages(endpoint.provider, request.messages)
    default_max = int(endpoint.options.get("default_max_tokens", DEFAULT_MAX_TOKENS))
    max_tokens = request.max_tokens if request.max_tokens is not None else default_max
    body: Dict[str, Any] = {"model": request.model, "max_tokens": max_tokens}
    if system is not None:
        body["system"] = system
    body["messages"] = turns
    tools = [tool_schema(t) for t in request.tools]
    choice = tool_choice(request.tool_choice) if tools else None
    budget = _thinking_budget(request.thinking)
    if request.response_format is not None:
        tools.append(format_tool(request.response_format))
        # NOTE: with thinking on, the API refuses a forced tool, so the format tool is offered;
        # beside the caller's tools it is required that one of them is used, not which one.
        if budget:
            choice = {"type": "auto"}
        elif len(tools) > 1:
            choice = {"type": "any"}
        else:
            choice = {"type": "tool", "name": tools[-1]["name"]}
    if tools:
        body["tools"] = tools
    if choice is not None:
        body["tool_choice"] = choice
    if budget is not None:
        if budget >= max_tokens:
            if request.max_tokens is None:
                # NOTE: budget_tokens must stay below max_tokens; leave room for the answer.
                body["max_tokens"] = budget + default_max
            else:
                budget = max(_MIN_BUDGET, max_tokens - 1)
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    body.update(controls.anthropic(request, endpoint, body.get("tool_choice")))
    body["stream"] = request.stream
    body = merge_extra(body, request.extra_body)
    accept = "text/event-stream" if request.stream else "application/json"
    headers = {"anthropic-version": API_VERSION}
    headers.update(auth_headers(endpoint, "x-api-key", "", accept=accept, request=request))
    if parts or isinstance(system, list):
        check_breakpoints(endpoint.provider, body)
        if uses_files(body):
            add_beta(headers, FILES_BETA)
    url = join_url(endpoint.base_url, "messages", request.query)
    return HttpRequest("POST", url, headers, body)


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
        data = load_json(frame.data, self._provider)
        if not isinstance(data, dict):
            return []
        data.setdefault("type", frame.event)
        return self.feed_event(data)

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


def new_decoder(provider: str) -> Decoder:
    return Decoder(provider)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete, non-streamed message object."""
    if not isinstance(body, dict):
        raise truncated(provider, "a JSON object")
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
