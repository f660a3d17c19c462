"""The fake's Anthropic Messages dialect: named events around content blocks (thinking,
text, tool_use), the one `ping`, padded JSON, and Anthropic's error shape.

It imitates https://docs.anthropic.com/en/docs/build-with-claude/streaming and recorded
streams of the API.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...types import Document, Image, Part, RateLimit, Text
from ..script import ServerToolSpec, TokenCounts
from .common import Plan, Wire, compact, messages_prompt, named, quoted, signature
from .errors import ErrorInfo
from .parts import (
    ReadPart,
    UnreadablePart,
    content_parts,
    decoded,
    items,
    made,
    mapping,
    string,
    typed,
)

PING = named("ping", '{"type": "ping"}')

_PADDING = (" " * 6, " " * 2, " " * 11, " " * 4, " " * 9, " ", " " * 13, " " * 7)
"""Anthropic pads event JSON with spaces before the closing brace; the fake cycles these."""


def _usage(usage: TokenCounts, output: int) -> Dict[str, Any]:
    # NOTE: Anthropic counts cache reads beside input_tokens, not inside it.
    return {
        "input_tokens": max(0, usage.input_tokens - usage.cached_input_tokens),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "output_tokens": output,
    }


def _server_blocks(tool: ServerToolSpec) -> List[Dict[str, Any]]:
    """A built-in tool's call block and its result block (`<name>_tool_result`)."""
    return [
        {"type": "server_tool_use", "id": tool.id, "name": tool.name, "input": tool.input},
        {"type": f"{tool.name}_tool_result", "tool_use_id": tool.id, "content": tool.output},
    ]


def _segments(plan: Plan) -> List[Tuple[str, List[Dict[str, Any]]]]:
    """The text cut where citations start and end: Anthropic cites whole text blocks."""
    text = plan.text or ""
    cuts = sorted({0, len(text), *(c.start or 0 for c in plan.citations),
                   *(c.end or 0 for c in plan.citations)})
    out: List[Tuple[str, List[Dict[str, Any]]]] = []
    for a, b in zip(cuts, cuts[1:]):
        cited = [{"type": "web_search_result_location", "url": c.url, "title": c.title,
                  "cited_text": c.cited_text or text[a:b], "encrypted_index": "ZmFrZQ=="}
                 for c in plan.citations if (c.start or 0) <= a and b <= (c.end or 0)]
        out.append((text[a:b], cited))
    return out


def _stop_details(plan: Plan) -> Optional[Dict[str, Any]]:
    if plan.refusal is None:
        return None
    return {"type": "refusal", "category": None, "explanation": plan.refusal}


def stream(plan: Plan) -> Tuple[List[bytes], int]:
    frames: List[bytes] = []
    index = 0  # the next content block's

    def event(name: str, data: str) -> None:
        # NOTE: Anthropic pads each event's JSON with spaces before the closing brace.
        padded = data[:-1] + _PADDING[len(frames) % len(_PADDING)] + "}"
        frames.append(f"event: {name}\ndata: {padded}\n\n".encode())

    def block(start: Dict[str, Any], deltas: List[Tuple[str, str, Any]]) -> None:
        """One content block: its start, its (delta type, field, text) deltas, its stop."""
        nonlocal index
        event("content_block_start",
              f'{{"type":"content_block_start","index":{index},"content_block":{compact(start)}}}')
        if index == 0:
            # NOTE: the API sends one ping right after the first content_block_start.
            frames.append(PING)
        for kind, field, piece in deltas:
            value = quoted(piece) if isinstance(piece, str) else compact(piece)
            event("content_block_delta",
                  f'{{"type":"content_block_delta","index":{index},'
                  f'"delta":{{"type":"{kind}","{field}":{value}}}}}')
        event("content_block_stop", f'{{"type":"content_block_stop","index":{index}}}')
        index += 1

    message: Dict[str, Any] = {
        "model": plan.model, "id": f"msg_{plan.token[:24]}", "type": "message",
        "role": "assistant", "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": dict(_usage(plan.usage, 1), service_tier="standard"),
    }
    event("message_start", f'{{"type":"message_start","message":{compact(message)}}}')
    if plan.thinking is not None:
        block({"type": "thinking", "thinking": "", "signature": ""},
              [*(("thinking_delta", "thinking", p) for p in plan.thinking_pieces()),
               ("signature_delta", "signature", signature(plan.thinking))])
    for tool in plan.server_tools:
        use, result = _server_blocks(tool)
        block(dict(use, input={}), [("input_json_delta", "partial_json", p)
                                    for p in ["", *plan.argument_pieces(compact(tool.input))]])
        block(result, [])
    if plan.text is not None and plan.citations:
        for piece, cited in _segments(plan):
            start: Dict[str, Any] = {"type": "text", "text": ""}
            if cited:
                start["citations"] = []
            # NOTE: a cited block's citations arrive before its text.
            block(start, [*(("citations_delta", "citation", c) for c in cited),
                          ("text_delta", "text", piece)])
    elif plan.text is not None and (plan.text or not (plan.calls or plan.refusal is not None)):
        block({"type": "text", "text": ""}, [("text_delta", "text", p) for p in plan.text_pieces()])
    for call in plan.calls:
        # NOTE: a tool_use block's first input_json_delta is empty.
        pieces = ["", *plan.argument_pieces(call.arguments.arguments_json((", ", ": ")))]
        block({"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
              [("input_json_delta", "partial_json", p) for p in pieces])
    if index == 0:
        frames.append(PING)
    end = len(frames)
    usage = _usage(plan.usage, plan.usage.output_tokens)
    details = compact(_stop_details(plan))
    event("message_delta",
          f'{{"type":"message_delta","delta":{{"stop_reason":{quoted(plan.reason)},'
          f'"stop_sequence":null,"stop_details":{details}}},"usage":{compact(usage)}}}')
    event("message_stop", '{"type":"message_stop"}')
    return frames, end


def body(plan: Plan) -> bytes:
    content: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        content.append({"type": "thinking", "thinking": plan.thinking,
                        "signature": signature(plan.thinking)})
    for tool in plan.server_tools:
        content.extend(_server_blocks(tool))
    if plan.text is not None and plan.citations:
        for piece, cited in _segments(plan):
            extra = {"citations": cited} if cited else {}
            content.append({"type": "text", "text": piece, **extra})
    elif plan.text is not None and (plan.text or not (plan.calls or plan.refusal is not None)):
        content.append({"type": "text", "text": plan.text})
    for call in plan.calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name,
                        "input": call.arguments.arguments_dict()})
    result = {
        "model": plan.model, "id": f"msg_{plan.token[:24]}", "type": "message",
        "role": "assistant", "content": content,
        "stop_reason": plan.reason, "stop_sequence": None, "stop_details": _stop_details(plan),
        "usage": dict(_usage(plan.usage, plan.usage.output_tokens), service_tier="standard"),
    }
    return compact(result).encode()


def error_body(info: ErrorInfo, status: int, token: str, retry_after: Any) -> Tuple[bytes, str]:
    payload = {"type": "error", "error": {"type": info.anthropic_type, "message": info.message},
               "request_id": f"req_{token[:24]}"}
    return compact(payload).encode(), "application/json"


def error_frames(
    custom: Optional[Mapping[str, Any]], info: ErrorInfo, message: str, plan: Plan, sent: int
) -> List[bytes]:
    payload = custom or {"type": "error",
                         "error": {"type": info.anthropic_type, "message": message}}
    return [named("error", json.dumps(payload, ensure_ascii=False))]


# --- what a request carried ---------------------------------------------------------------
# https://docs.anthropic.com/en/docs/build-with-claude/vision, .../pdf-support, .../citations,
# .../files, .../prompt-caching

_MEDIA_TYPES = {
    "image": ("image/jpeg", "image/png", "image/gif", "image/webp"),
    "document": ("application/pdf",),
}


def _source(item: Mapping[str, Any]) -> List[Part]:
    kind = str(item["type"])
    part = Image if kind == "image" else Document
    source = mapping(item.get("source"), f"{kind}.source")
    cache = _cache(item)
    origin = source.get("type")
    if origin == "base64":
        media_type = source.get("media_type")
        if media_type not in _MEDIA_TYPES[kind]:
            raise UnreadablePart(f"{kind}.source.media_type {media_type!r} is not one of "
                                 f"{', '.join(_MEDIA_TYPES[kind])}")
        data = decoded(source.get("data"), f"{kind}.source.data")
        return [made(part, kind, data=data, media_type=media_type, cache=cache)]
    if origin == "url":
        return [made(part, kind, url=string(source.get("url"), f"{kind}.source.url"), cache=cache)]
    if origin == "file":
        file_id = string(source.get("file_id"), f"{kind}.source.file_id")
        return [made(part, kind, file_id=file_id, cache=cache)]
    if origin == "text" and kind == "document":
        text = string(source.get("data"), "document.source.data")
        return [Document(data=text.encode(), media_type="text/plain", cache=cache)]
    raise UnreadablePart(f"unknown {kind}.source type {origin!r}")


def _cache(item: Mapping[str, Any]) -> bool:
    control = item.get("cache_control")
    if control is None:
        return False
    if mapping(control, "cache_control").get("type") != "ephemeral":
        raise UnreadablePart(f"cache_control.type must be ephemeral, not {control!r}")
    return True


def _text(item: Mapping[str, Any]) -> List[Part]:
    return [Text(string(item.get("text"), "text"), cache=_cache(item))]


def _tool_result(item: Mapping[str, Any]) -> List[Part]:
    return content_parts(item.get("content", ""), _read)


def _none(item: Mapping[str, Any]) -> List[Part]:
    return []


_READERS: Dict[str, ReadPart] = {
    "text": _text, "image": _source, "document": _source, "tool_result": _tool_result,
    "tool_use": _none, "thinking": _none, "redacted_thinking": _none,
}


def _read(item: Any) -> List[Part]:
    return typed(item, _READERS, "content block")


def request_parts(body: Any) -> List[Part]:
    """The parts of the user turns (tool results included) of a Messages request."""
    parts: List[Part] = []
    for message in items(body.get("messages", []), "messages"):
        if isinstance(message, Mapping) and message.get("role") == "user":
            parts.extend(content_parts(message.get("content", ""), _read))
    return parts
def rate_limit_headers(limit: RateLimit, now: float) -> List[Tuple[str, str]]:
    """Anthropic's rate-limit headers, resets as RFC 3339 times.

    https://docs.anthropic.com/en/api/rate-limits#response-headers
    """
    headers: List[Tuple[str, str]] = []
    for kind in ("requests", "tokens"):
        limit_value, remaining, reset = (getattr(limit, f"{kind}_{field}")
                                         for field in ("limit", "remaining", "reset"))
        prefix = f"anthropic-ratelimit-{kind}"
        if limit_value is not None:
            headers.append((f"{prefix}-limit", str(limit_value)))
        if remaining is not None:
            headers.append((f"{prefix}-remaining", str(remaining)))
        if reset is not None:
            when = datetime.datetime.fromtimestamp(now + reset, datetime.timezone.utc)
            headers.append((f"{prefix}-reset", when.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return headers


WIRE = Wire(
    name="anthropic",
    base_path="/v1",
    serves=lambda path: path.endswith("/messages"),
    stream=stream,
    body=body,
    error_body=error_body,
    error_frames=error_frames,
    prompt=messages_prompt,
    malformed=(b'event: content_block_delta\n'
               b'data: {"type":"content_block_delta","index":0,"delt\n\n'),
    finish={"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
            "content_filter": "refusal"},
    keepalive=PING,
    request_id=("request-id", 24),
    parts=request_parts,
    rate_limits=rate_limit_headers,
    call_prefix="toolu_",
    messages={"overloaded": "Overloaded",
              "context_overflow": "prompt is too long: 210000 tokens > 200000 maximum"},
    not_found="model: {model}",
)
