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

import re
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from ..types import (
    ChatRequest,
    HttpRequest,
    Message,
    Part,
    ResponseFormat,
    Text,
    Tool,
)
from . import anthropic_decode, builtin_tools, controls
from .anthropic_decode import FORMAT_TOOL_PREFIX
from .anthropic_parts import FILES_BETA, add_beta, blocks, check_breakpoints, uses_files
from .common import (
    Endpoint,
    auth_headers,
    join_url,
    merge_extra,
)
from .parts import text_only

FRAMING = "sse"

# The reading half lives in anthropic_decode; the wire format is this module.
Decoder = anthropic_decode.Decoder
new_decoder = anthropic_decode.new_decoder
decode_body = anthropic_decode.decode_body

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""The API requires max_tokens; this is sent when the caller sets none."""


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


def _sendable(block: Any) -> bool:
    return isinstance(block, dict) and (block.get("type") != "text" or bool(block.get("text")))


def _assistant_blocks(provider: str, message: Message) -> List[Dict[str, Any]]:
    kept = message.provider_data.get("anthropic")
    if kept and isinstance(kept.get("content"), list):
        # NOTE: server tool blocks and cited text go back exactly as they came (encrypted
        # results and citation indexes included), but empty text blocks are refused.
        return [dict(block) for block in kept["content"] if _sendable(block)]
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


def _system(provider: str, prompts: List[Message]) -> Any:
    """The system prompt: one string, or text blocks when parts (cache breakpoints) ask."""
    if all(isinstance(m.content, str) for m in prompts):
        return "\n\n".join(m.text for m in prompts) or None
    parts = [p for m in prompts for p in _as_parts(m.content)]
    text_only(provider, parts, "a system prompt")
    return blocks(provider, parts)


def _as_parts(content: Union[str, List[Part]]) -> List[Part]:
    return [Text(content)] if isinstance(content, str) else content


def _messages(provider: str, messages: List[Message]) -> Tuple[Any, List[Dict[str, Any]], bool]:
    """The top-level system prompt, the alternating user/assistant turns, and whether any
    message was made of parts."""
    system: List[Message] = []
    turns: List[Dict[str, Any]] = []
    parts = False
    for message in messages:
        content: Any = message.content
        if message.role == "system":
            if content:
                system.append(message)
            continue
        if message.role == "tool":
            role = "user"
            if not isinstance(content, str):
                parts, content = True, blocks(provider, content)
            turn_blocks = [
                {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}
            ]
        elif message.role == "user":
            role = "user"
            if isinstance(content, str):  # the hot path: one test, as before parts
                turn_blocks = [{"type": "text", "text": content}] if content else []
            else:
                parts, turn_blocks = True, blocks(provider, content)
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
    return _system(provider, system), turns, parts


def tool_schema(tool: Tool) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        schema["description"] = tool.description
    if tool.strict:
        schema["strict"] = True
    if tool.cache:
        # NOTE: a breakpoint on a tool caches the tool definitions (and the system before).
        schema["cache_control"] = {"type": "ephemeral"}
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
    system, turns, parts = _messages(endpoint.provider, request.messages)
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
    betas: Set[str] = set()
    tools.extend(builtin_tools.anthropic(request, endpoint, betas))
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
    if parts or isinstance(system, list) or any(t.cache for t in request.tools):
        check_breakpoints(endpoint.provider, request.messages, request.tools)
        if uses_files(request.messages):
            add_beta(headers, FILES_BETA)
    for beta in sorted(betas):
        add_beta(headers, beta)
    url = join_url(endpoint.base_url, "messages", request.query)
    return HttpRequest("POST", url, headers, body)
