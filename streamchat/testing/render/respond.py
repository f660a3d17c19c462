"""A Script to the exact bytes each provider sends, and the error bodies each returns.

Pure: no sockets, no clocks, no randomness. The same script and request always give the
same bytes, so a test can compare them, a benchmark can render a 50,000-event body once,
and the fake server and the `responses` helper send identical streams. This module
resolves the script against the request, applies the faults (errors, truncation, broken
frames) the same way for every wire, and leaves the bytes to the wire's own module.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ...types import Text
from ..script import Script, TokenCounts
from .common import (
    CREATED,
    DEFAULT_MODEL,
    Call,
    Plan,
    Rendered,
    Wire,
    add_retry_after,
    default_reply,
    estimate_tokens,
    merged,
    request_id,
    token,
)
from .errors import kind_info, status_info
from .parts import UnreadablePart
from .registry import model_of, wants_stream, wire_spec


def render(
    script: Script,
    wire: str,
    request: Any = None,
    *,
    stream: bool = True,
    model: Optional[str] = None,
    seq: int = 1,
    now: float = CREATED,
) -> Rendered:
    """The whole HTTP response the provider would send for this script and request.

    `request` is the parsed JSON body (it supplies the model, the prompt for the default
    reply and the usage estimate, and OpenAI's include_usage); `seq` numbers responses so
    that ids differ between them; `now` (a Unix time) is when the response is sent, for
    rate-limit resets that providers give as times.
    """
    spec = wire_spec(wire)
    plan = _plan(script, spec, request, model, seq)
    extra = script.headers
    if script.rate_limit is not None and spec.rate_limits is not None:
        extra = (*spec.rate_limits(script.rate_limit, now), *extra)
    if script.status >= 400 and script.body is None:
        return render_error(
            wire, script.status, model=plan.model, retry_after=script.retry_after, seq=seq,
            headers=extra,
        )
    if script.status >= 400:
        base = [("Content-Type", _guess_type(script.body))]
    else:
        base = _success_headers(spec, stream, plan.token)
    add_retry_after(base, script.retry_after)
    headers = merged(base, extra)
    if script.body is not None:
        return Rendered(script.status, headers, (_raw(script.body),),
                        spec.keepalive if stream else None)
    if not stream:
        return Rendered(script.status, headers, (spec.body(plan),))
    frames, end = spec.stream(plan)
    content, ending = frames[:end], frames[end:]
    if script.malformed_after is not None:
        content.insert(min(script.malformed_after, len(content)), spec.malformed)
    truncated = False
    if script.error_kind is not None:
        content.extend(_error_frames(spec, script, plan, len(content)))
        truncated = True
    elif script.truncate_after is not None:
        content = content[: script.truncate_after]
        truncated = True
    else:
        content.extend(ending)
    return Rendered(script.status, headers, tuple(content), spec.keepalive, truncated)


def render_error(
    wire: str,
    status: int,
    *,
    message: Optional[str] = None,
    model: str = DEFAULT_MODEL,
    retry_after: Optional[Any] = None,
    seq: int = 1,
    headers: Sequence[Tuple[str, str]] = (),
) -> Rendered:
    """The error response the provider returns for an HTTP status, in its own shape."""
    spec = wire_spec(wire)
    hex_token = token(wire, seq)
    info = status_info(status, model, message, spec.messages, spec.not_found)
    body, kind = spec.error_body(info, status, hex_token, retry_after)
    base = [("Content-Type", kind), *request_id(spec, hex_token)]
    add_retry_after(base, retry_after)
    return Rendered(status, merged(base, headers), (body,))


def render_request(
    script: Script, wire: str, body: Any, path: str, seq: int, now: float = CREATED
) -> Rendered:
    """The answer to one chat request: a stream or a plain body, as the request asked."""
    return render(script, wire, body, stream=wants_stream(wire, body, path),
                  model=model_of(wire, body, path), seq=seq, now=now)


def not_found(path: str) -> Rendered:
    """The fake's answer to a path no wire serves."""
    body = json.dumps({"error": {
        "message": f"streamchat's fake provider has no endpoint at {path}",
        "type": "invalid_request_error", "code": "unknown_url",
    }}).encode()
    return Rendered(404, (("Content-Type", "application/json"),), (body,))


# --- planning -----------------------------------------------------------------------------


def _plan(script: Script, spec: Wire, request: Any, model: Optional[str], seq: int) -> Plan:
    hex_token = token(spec.name, seq)
    text = script.text
    if not script.has_content:
        text = default_reply(spec.prompt(request))
    calls = tuple(
        Call(i, call.id or f"{spec.call_prefix}{hex_token[:8]}{i:02d}", call.name, call)
        for i, call in enumerate(script.tool_calls)
    )
    usage = script.usage or _estimate_usage(spec, request, text, script.thinking, calls)
    finish = script.finish_reason or (
        "tool_calls" if calls else "refusal" if script.refusal is not None else "stop"
    )
    server_tools = tuple(
        dataclasses.replace(tool, id=tool.id or f"srvtoolu_{hex_token[:8]}{i:02d}")
        for i, tool in enumerate(script.server_tools)
    )
    include_usage = False
    if isinstance(request, Mapping):
        options = request.get("stream_options")
        include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return Plan(
        model=script.model or model or spec.model_of(request, ""),
        text=text,
        thinking=script.thinking,
        calls=calls,
        usage=usage,
        finish=finish,
        reason=spec.finish.get(finish, finish),
        token=hex_token,
        chunk_size=script.chunk_size,
        include_usage=include_usage,
        refusal=script.refusal,
        citations=script.citations,
        server_tools=server_tools,
        top_logprobs=_asked_logprobs(request),
    )


def _asked_logprobs(request: Any) -> Optional[int]:
    """Chat Completions and Ollama ask with `logprobs: true` and `top_logprobs`, Gemini
    with generationConfig's `responseLogprobs: true` and `logprobs`."""
    if not isinstance(request, Mapping):
        return None
    config = request.get("generationConfig")
    if isinstance(config, Mapping) and config.get("responseLogprobs") is True:
        top = config.get("logprobs")
    elif request.get("logprobs") is True:
        top = request.get("top_logprobs")
    else:
        return None
    return top if isinstance(top, int) and not isinstance(top, bool) else 0


MEDIA_TOKENS = 258
"""What the fake counts for an image, a document or a recording in the prompt (Gemini's
figure for an image), instead of the length of its base64."""


def _estimate_usage(
    spec: Wire, request: Any, text: Optional[str], thinking: Optional[str], calls: Sequence[Call]
) -> TokenCounts:
    prompt = json.dumps(request, ensure_ascii=False) if request is not None else ""
    try:
        parts = spec.parts(request) if isinstance(request, Mapping) else []
    except UnreadablePart:
        parts = []
    media = [p for p in parts if not isinstance(p, Text)]
    encoded = sum(4 * ((len(p.data) + 2) // 3) for p in media if p.data is not None)
    reasoning = estimate_tokens(thinking or "")
    output = estimate_tokens(text or "") + reasoning
    output += sum(estimate_tokens(c.arguments.arguments_json()) + 4 for c in calls)
    return TokenCounts(
        input_tokens=max(1, (len(prompt) - encoded + 3) // 4 // 2) + MEDIA_TOKENS * len(media),
        output_tokens=max(1, output),
        reasoning_tokens=reasoning,
    )


def _error_frames(spec: Wire, script: Script, plan: Plan, sent: int) -> List[bytes]:
    custom = script.error_event if isinstance(script.error_event, Mapping) else None
    kind = script.error_kind or "overloaded"
    info = kind_info(kind)
    message = spec.messages.get(kind, info.message)
    return spec.error_frames(custom, info, message, plan, sent)


# --- raw bodies ---------------------------------------------------------------------------


def _success_headers(spec: Wire, stream: bool, hex_token: str) -> List[Tuple[str, str]]:
    headers = [("Content-Type", spec.stream_type if stream else spec.body_type),
               *request_id(spec, hex_token)]
    if stream and spec.cache_control:
        headers.append(("Cache-Control", "no-cache"))
    return headers


def _raw(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    value = dict(body) if isinstance(body, Mapping) else list(body)
    return json.dumps(value, ensure_ascii=False).encode()


def _guess_type(body: Any) -> str:
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            json.loads(text)
        except ValueError:
            return "text/plain; charset=utf-8"
    return "application/json"
