"""A Script to the exact bytes each provider sends, and the error bodies each returns.

Pure: no sockets, no clocks, no randomness. The same script and request always give the
same bytes, so a test can compare them, a benchmark can render a 50,000-event body once,
and the fake server and the `responses` helper send identical streams.

The shapes follow the providers' streaming documentation and recorded real streams:

- openai: https://platform.openai.com/docs/api-reference/chat-streaming
- openai-responses: https://platform.openai.com/docs/api-reference/responses-streaming
- anthropic: https://docs.anthropic.com/en/docs/build-with-claude/streaming
- gemini: https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
- ollama: https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .script import WIRES, Script, TokenCounts, ToolCallSpec

CREATED = 1767225600
"""Every fake response claims to be from 2026-01-01T00:00:00Z: timestamps stay stable."""

DEFAULT_MODEL = "fake-model"

SSE_TYPE = "text/event-stream; charset=utf-8"

_OBFUSCATION = ("Xq3", "a", "kT0pZr", "9Lm", "QwE4Rt8Yu", "b7", "mN2vC", "", "Hj5kL0pQ", "z")
"""OpenAI pads delta events with a random `obfuscation` string; the fake cycles these."""

_PADDING = (" " * 6, " " * 2, " " * 11, " " * 4, " " * 9, " ", " " * 13, " " * 7)
"""Anthropic pads event JSON with spaces before the closing brace; the fake cycles these."""


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
class _Call:
    index: int
    id: str
    name: str
    arguments: ToolCallSpec


@dataclass(frozen=True)
class _Plan:
    """The script resolved against the request: everything a wire renderer needs."""

    wire: str
    model: str
    text: Optional[str]
    thinking: Optional[str]
    calls: Tuple[_Call, ...]
    usage: TokenCounts
    finish: str
    """A normalised reason (stop, length, tool_calls, content_filter) or a verbatim word."""
    token: str
    """Hex that makes this response's ids unique and stable."""
    chunk_size: Optional[int]
    include_usage: bool

    @property
    def reason(self) -> str:
        """The finish reason in the wire's own word."""
        return _FINISH[self.wire].get(self.finish, self.finish)

    def text_pieces(self) -> List[str]:
        return split_text(self.text or "", self.chunk_size)

    def thinking_pieces(self) -> List[str]:
        return split_text(self.thinking or "", self.chunk_size)

    def argument_pieces(self, arguments: str) -> List[str]:
        return split_arguments(arguments, self.chunk_size)


# --- public helpers -------------------------------------------------------------------


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


def wants_stream(wire: str, body: Any, path: str = "") -> bool:
    """Whether the request asked for a stream, by each API's own rule."""
    if wire == "gemini":
        return ":streamGenerateContent" in path
    stream = body.get("stream") if isinstance(body, Mapping) else None
    if wire == "ollama":
        # NOTE: Ollama streams unless told `"stream": false`.
        return stream is not False
    return stream is True


def model_of(wire: str, body: Any, path: str = "") -> str:
    """The model the request named (Gemini names it in the path)."""
    if wire == "gemini":
        match = re.search(r"models/([^/:]+)", path)
        return match.group(1) if match else DEFAULT_MODEL
    model = body.get("model") if isinstance(body, Mapping) else None
    return model if isinstance(model, str) and model else DEFAULT_MODEL


def prompt_text(wire: str, body: Any) -> str:
    """The text of the last user message, whatever the wire's request shape."""
    if not isinstance(body, Mapping):
        return ""
    if wire == "openai-responses" and isinstance(body.get("input"), str):
        return str(body["input"])
    key = {"gemini": "contents", "openai-responses": "input"}.get(wire, "messages")
    items = body.get(key)
    if not isinstance(items, list):
        return ""
    # NOTE: Gemini may leave out the role of a user turn; other wires always name it.
    implied = "user" if wire == "gemini" else None
    for item in reversed(items):
        if isinstance(item, Mapping) and item.get("role", implied) == "user":
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


def keepalive_frame(wire: str) -> Optional[bytes]:
    """What the provider sends to keep a quiet stream open (Ollama sends nothing)."""
    if wire == "anthropic":
        return _named("ping", '{"type": "ping"}')
    if wire == "gemini":
        return b": ping\r\n\r\n"
    if wire == "ollama":
        return None
    return b": ping\n\n"


def content_type(wire: str, stream: bool) -> str:
    if not stream:
        return "application/json; charset=UTF-8" if wire == "gemini" else "application/json"
    if wire == "ollama":
        return "application/x-ndjson"
    if wire == "gemini":
        return "text/event-stream"
    return SSE_TYPE


# --- entry points ---------------------------------------------------------------------


def render(
    script: Script,
    wire: str,
    request: Any = None,
    *,
    stream: bool = True,
    model: Optional[str] = None,
    seq: int = 1,
) -> Rendered:
    """The whole HTTP response the provider would send for this script and request.

    `request` is the parsed JSON body (it supplies the model, the prompt for the default
    reply and the usage estimate, and OpenAI's include_usage); `seq` numbers responses so
    that ids differ between them.
    """
    if wire not in WIRES:
        raise ValueError(f"unknown wire format {wire!r}; expected one of {WIRES}")
    plan = _plan(script, wire, request, model, seq)
    if script.status >= 400 and script.body is None:
        return render_error(
            wire, script.status, model=plan.model, retry_after=script.retry_after, seq=seq,
            headers=script.headers,
        )
    if script.status >= 400:
        base = [("Content-Type", _guess_type(script.body))]
    else:
        base = _success_headers(wire, stream, plan.token)
    _add_retry_after(base, script.retry_after)
    headers = _merged(base, script.headers)
    if script.body is not None:
        return Rendered(script.status, headers, (_raw(script.body),),
                        keepalive_frame(wire) if stream else None)
    if not stream:
        return Rendered(script.status, headers, (_BODIES[wire](plan),))
    frames, end = _STREAMS[wire](plan)
    content, ending = frames[:end], frames[end:]
    if script.malformed_after is not None:
        content.insert(min(script.malformed_after, len(content)), _MALFORMED[wire])
    truncated = False
    if script.error_kind is not None:
        content.extend(_error_frames(wire, script, plan, len(content)))
        truncated = True
    elif script.truncate_after is not None:
        content = content[: script.truncate_after]
        truncated = True
    else:
        content.extend(ending)
    return Rendered(script.status, headers, tuple(content), keepalive_frame(wire), truncated)


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
    if wire not in WIRES:
        raise ValueError(f"unknown wire format {wire!r}; expected one of {WIRES}")
    token = _token(wire, seq)
    info = _status_info(wire, status, model, message)
    if wire in ("openai", "openai-responses"):
        payload: Dict[str, Any] = {"error": {
            "message": info.message, "type": info.openai_type, "param": None,
            "code": info.openai_code,
        }}
        # NOTE: OpenAI pretty-prints error bodies with four-space indents.
        body = (json.dumps(payload, indent=4, ensure_ascii=False) + "\n").encode()
        kind = "application/json; charset=utf-8"
    elif wire == "anthropic":
        payload = {"type": "error", "error": {"type": info.anthropic_type, "message": info.message},
                   "request_id": f"req_{token[:24]}"}
        body = _compact(payload).encode()
        kind = "application/json"
    elif wire == "gemini":
        error: Dict[str, Any] = {"code": status, "message": info.message,
                                 "status": info.google_status}
        if isinstance(retry_after, (int, float)) and status == 429:
            # NOTE: Gemini says how long to wait in the body, as a google.rpc.RetryInfo.
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": f"{_number(retry_after)}s"}]
        body = (json.dumps({"error": error}, indent=2, ensure_ascii=False) + "\n").encode()
        kind = "application/json; charset=UTF-8"
    else:
        body = _go({"error": info.message}).encode()
        kind = "application/json; charset=utf-8"
    base = [("Content-Type", kind), *_request_id(wire, token)]
    _add_retry_after(base, retry_after)
    return Rendered(status, _merged(base, headers), (body,))


# --- planning -------------------------------------------------------------------------


def _plan(script: Script, wire: str, request: Any, model: Optional[str], seq: int) -> _Plan:
    token = _token(wire, seq)
    text = script.text
    if not script.has_content:
        text = default_reply(prompt_text(wire, request))
    prefix = "toolu_" if wire == "anthropic" else "call_"
    calls = tuple(
        _Call(i, spec.id or f"{prefix}{token[:8]}{i:02d}", spec.name, spec)
        for i, spec in enumerate(script.tool_calls)
    )
    usage = script.usage or _estimate_usage(request, text, script.thinking, calls)
    finish = script.finish_reason or ("tool_calls" if calls else "stop")
    include_usage = False
    if isinstance(request, Mapping):
        options = request.get("stream_options")
        include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return _Plan(
        wire=wire,
        model=script.model or model or model_of(wire, request),
        text=text,
        thinking=script.thinking,
        calls=calls,
        usage=usage,
        finish=finish,
        token=token,
        chunk_size=script.chunk_size,
        include_usage=include_usage,
    )


def _estimate_usage(
    request: Any, text: Optional[str], thinking: Optional[str], calls: Sequence[_Call]
) -> TokenCounts:
    prompt = json.dumps(request, ensure_ascii=False) if request is not None else ""
    reasoning = estimate_tokens(thinking or "")
    output = estimate_tokens(text or "") + reasoning
    output += sum(estimate_tokens(c.arguments.arguments_json()) + 4 for c in calls)
    return TokenCounts(
        input_tokens=max(1, estimate_tokens(prompt) // 2),
        output_tokens=max(1, output),
        reasoning_tokens=reasoning,
    )


def _token(wire: str, seq: int) -> str:
    return hashlib.sha256(f"streamchat-fake:{wire}:{seq}".encode()).hexdigest()


def _signature(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest() * 3).decode()


# --- encoding -------------------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _google(value: Any) -> str:
    # NOTE: Gemini's stream JSON puts a space after colons but none after commas.
    return json.dumps(value, separators=(",", ": "), ensure_ascii=False)


def _go(value: Any) -> str:
    # NOTE: Ollama is written in Go, whose JSON encoder escapes <, > and & in strings.
    text = _compact(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _data(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


def _named(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _add_retry_after(headers: List[Tuple[str, str]], retry_after: Any) -> None:
    if retry_after is not None:
        headers.append(("Retry-After", _number(retry_after)))


def _merged(
    base: Sequence[Tuple[str, str]], extra: Sequence[Tuple[str, str]]
) -> Tuple[Tuple[str, str], ...]:
    names = {name.lower() for name, _ in extra}
    return tuple([(n, v) for n, v in base if n.lower() not in names] + list(extra))


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


def _request_id(wire: str, token: str) -> List[Tuple[str, str]]:
    if wire in ("openai", "openai-responses"):
        return [("x-request-id", f"req_{token}")]
    if wire == "anthropic":
        return [("request-id", f"req_{token[:24]}")]
    return []


def _success_headers(wire: str, stream: bool, token: str) -> List[Tuple[str, str]]:
    headers = [("Content-Type", content_type(wire, stream)), *_request_id(wire, token)]
    if stream and wire != "ollama":
        headers.append(("Cache-Control", "no-cache"))
    return headers


# --- OpenAI Chat Completions ----------------------------------------------------------

def _openai_usage(usage: TokenCounts) -> Dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def _openai_stream(plan: _Plan) -> Tuple[List[bytes], int]:
    head = (
        f'data: {{"id":"chatcmpl-{plan.token[:29]}","object":"chat.completion.chunk",'
        f'"created":{CREATED},"model":{_q(plan.model)},"service_tier":"default",'
        f'"system_fingerprint":"fp_{plan.token[:10]}","choices":['
    )
    # NOTE: with include_usage every chunk carries "usage":null until the last one.
    usage_null = ',"usage":null' if plan.include_usage else ""
    tails = [f']{usage_null},"obfuscation":"{o}"}}\n\n' for o in _OBFUSCATION]
    n = len(tails)
    frames: List[bytes] = []

    def chunk(choice: str) -> None:
        frames.append(f"{head}{choice}{tails[len(frames) % n]}".encode())

    chunk('{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
          '"logprobs":null,"finish_reason":null}')
    # NOTE: OpenAI itself does not stream reasoning; DeepSeek-style reasoning_content stands in.
    for piece in plan.thinking_pieces():
        chunk(f'{{"index":0,"delta":{{"reasoning_content":{_q(piece)}}},'
              '"logprobs":null,"finish_reason":null}')
    for piece in plan.text_pieces():
        chunk(f'{{"index":0,"delta":{{"content":{_q(piece)}}},"logprobs":null,"finish_reason":null}}')
    for call in plan.calls:
        chunk(f'{{"index":0,"delta":{{"tool_calls":[{{"index":{call.index},"id":{_q(call.id)},'
              f'"type":"function","function":{{"name":{_q(call.name)},"arguments":""}}}}]}},'
              '"logprobs":null,"finish_reason":null}')
        for piece in plan.argument_pieces(call.arguments.arguments_json()):
            chunk(f'{{"index":0,"delta":{{"tool_calls":[{{"index":{call.index},'
                  f'"function":{{"arguments":{_q(piece)}}}}}]}},"logprobs":null,"finish_reason":null}}')
    end = len(frames)
    chunk(f'{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":{_q(plan.reason)}}}')
    if plan.include_usage:
        # NOTE: the usage chunk has an empty choices list.
        frames.append(
            f"{head}],\"usage\":{_compact(_openai_usage(plan.usage))},"
            f'"obfuscation":"{_OBFUSCATION[0]}"}}\n\n'.encode()
        )
    frames.append(b"data: [DONE]\n\n")
    return frames, end


def _openai_body(plan: _Plan) -> bytes:
    message: Dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None,
                               "annotations": []}
    if plan.thinking:
        message["reasoning_content"] = plan.thinking
    if plan.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments.arguments_json()}}
            for c in plan.calls
        ]
    body = {
        "id": f"chatcmpl-{plan.token[:29]}",
        "object": "chat.completion",
        "created": CREATED,
        "model": plan.model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": plan.reason}],
        "usage": _openai_usage(plan.usage),
        "service_tier": "default",
        "system_fingerprint": f"fp_{plan.token[:10]}",
    }
    # NOTE: non-streamed completions come pretty-printed with two-space indents.
    return json.dumps(body, indent=2, ensure_ascii=False).encode()


# --- OpenAI Responses -----------------------------------------------------------------


def _responses_usage(usage: TokenCounts) -> Dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _responses_object(plan: _Plan, status: str, output: List[Any], usage: bool) -> Dict[str, Any]:
    incomplete = {"reason": plan.reason} if status == "incomplete" else None
    return {
        "id": f"resp_{plan.token[:48]}",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": None,
        "max_output_tokens": None,
        "model": plan.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _responses_usage(plan.usage) if usage else None,
        "user": None,
        "metadata": {},
    }


def _responses_status(plan: _Plan) -> str:
    return "completed" if plan.finish in ("stop", "tool_calls") else "incomplete"


def _responses_items(plan: _Plan) -> List[Dict[str, Any]]:
    """The finished output items, in output order: reasoning, message, function calls."""
    items: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        items.append({"id": f"rs_{plan.token[:48]}", "type": "reasoning",
                      "summary": [{"type": "summary_text", "text": plan.thinking}]})
    if plan.text is not None:
        items.append({"id": f"msg_{plan.token[:48]}", "type": "message", "status": "completed",
                      "content": [{"type": "output_text", "annotations": [], "logprobs": [],
                                   "text": plan.text}],
                      "role": "assistant"})
    for call in plan.calls:
        items.append({"id": f"fc_{plan.token[:40]}{call.index:02d}", "type": "function_call",
                      "status": "completed", "arguments": call.arguments.arguments_json(),
                      "call_id": call.id, "name": call.name})
    return items


def _responses_stream(plan: _Plan) -> Tuple[List[bytes], int]:
    frames: List[bytes] = []

    def event(name: str, fields: str) -> None:
        # NOTE: every Responses event repeats its name as `type` and carries a sequence_number.
        frames.append(
            f'event: {name}\ndata: {{"type":"{name}","sequence_number":{len(frames)},{fields}}}\n\n'
            .encode()
        )

    def deltas(name: str, ids: str, pieces: List[str], extra: str = "") -> None:
        for piece in pieces:
            event(name, f'{ids},"delta":{_q(piece)},{extra}'
                  f'"obfuscation":"{_OBFUSCATION[len(frames) % len(_OBFUSCATION)]}"')

    skeleton = _responses_object(plan, "in_progress", [], usage=False)
    event("response.created", f'"response":{_compact(skeleton)}')
    event("response.in_progress", f'"response":{_compact(skeleton)}')
    items = _responses_items(plan)
    for index, item in enumerate(items):
        ids = f'"item_id":"{item["id"]}","output_index":{index}'
        kind = item["type"]
        if kind == "reasoning":
            event("response.output_item.added",
                  f'"output_index":{index},"item":{_compact(dict(item, summary=[]))}')
            text = item["summary"][0]["text"]
            part: Dict[str, Any] = {"type": "summary_text", "text": ""}
            event("response.reasoning_summary_part.added",
                  f'{ids},"summary_index":0,"part":{_compact(part)}')
            deltas("response.reasoning_summary_text.delta", f'{ids},"summary_index":0',
                   plan.thinking_pieces())
            event("response.reasoning_summary_text.done",
                  f'{ids},"summary_index":0,"text":{_q(text)}')
            event("response.reasoning_summary_part.done",
                  f'{ids},"summary_index":0,"part":{_compact(dict(part, text=text))}')
        elif kind == "message":
            added = dict(item, status="in_progress", content=[])
            event("response.output_item.added", f'"output_index":{index},"item":{_compact(added)}')
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            event("response.content_part.added", f'{ids},"content_index":0,"part":{_compact(part)}')
            deltas("response.output_text.delta", f'{ids},"content_index":0',
                   plan.text_pieces(), extra='"logprobs":[],')
            event("response.output_text.done",
                  f'{ids},"content_index":0,"text":{_q(plan.text or "")},"logprobs":[]')
            event("response.content_part.done",
                  f'{ids},"content_index":0,"part":{_compact(dict(part, text=plan.text or ""))}')
        else:
            added = dict(item, status="in_progress", arguments="")
            event("response.output_item.added", f'"output_index":{index},"item":{_compact(added)}')
            deltas("response.function_call_arguments.delta", ids,
                   plan.argument_pieces(item["arguments"]))
            event("response.function_call_arguments.done",
                  f'{ids},"arguments":{_q(item["arguments"])}')
        event("response.output_item.done", f'"output_index":{index},"item":{_compact(item)}')
    end = len(frames)
    status = _responses_status(plan)
    final = _responses_object(plan, status, items, usage=True)
    # NOTE: a response cut short by max_output_tokens ends with response.incomplete.
    event("response.completed" if status == "completed" else "response.incomplete",
          f'"response":{_compact(final)}')
    return frames, end


def _responses_body(plan: _Plan) -> bytes:
    body = _responses_object(plan, _responses_status(plan), _responses_items(plan), usage=True)
    return json.dumps(body, indent=2, ensure_ascii=False).encode()


# --- Anthropic Messages ---------------------------------------------------------------

def _anthropic_usage(usage: TokenCounts, output: int) -> Dict[str, Any]:
    # NOTE: Anthropic counts cache reads beside input_tokens, not inside it.
    return {
        "input_tokens": max(0, usage.input_tokens - usage.cached_input_tokens),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "output_tokens": output,
    }


def _anthropic_stream(plan: _Plan) -> Tuple[List[bytes], int]:
    frames: List[bytes] = []
    index = 0  # the next content block's

    def event(name: str, data: str) -> None:
        # NOTE: Anthropic pads each event's JSON with spaces before the closing brace.
        padded = data[:-1] + _PADDING[len(frames) % len(_PADDING)] + "}"
        frames.append(f"event: {name}\ndata: {padded}\n\n".encode())

    def block(start: Dict[str, Any], deltas: List[Tuple[str, str, str]]) -> None:
        """One content block: its start, its (delta type, field, text) deltas, its stop."""
        nonlocal index
        event("content_block_start",
              f'{{"type":"content_block_start","index":{index},"content_block":{_compact(start)}}}')
        if index == 0:
            # NOTE: the API sends one ping right after the first content_block_start.
            frames.append(keepalive_frame("anthropic") or b"")
        for kind, field, piece in deltas:
            event("content_block_delta",
                  f'{{"type":"content_block_delta","index":{index},'
                  f'"delta":{{"type":"{kind}","{field}":{_q(piece)}}}}}')
        event("content_block_stop", f'{{"type":"content_block_stop","index":{index}}}')
        index += 1

    message: Dict[str, Any] = {
        "model": plan.model, "id": f"msg_{plan.token[:24]}", "type": "message",
        "role": "assistant", "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": dict(_anthropic_usage(plan.usage, 1), service_tier="standard"),
    }
    event("message_start", f'{{"type":"message_start","message":{_compact(message)}}}')
    if plan.thinking is not None:
        block({"type": "thinking", "thinking": "", "signature": ""},
              [*(("thinking_delta", "thinking", p) for p in plan.thinking_pieces()),
               ("signature_delta", "signature", _signature(plan.thinking))])
    if plan.text is not None and (plan.text or not plan.calls):
        block({"type": "text", "text": ""}, [("text_delta", "text", p) for p in plan.text_pieces()])
    for call in plan.calls:
        # NOTE: a tool_use block's first input_json_delta is empty.
        pieces = ["", *plan.argument_pieces(call.arguments.arguments_json((", ", ": ")))]
        block({"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
              [("input_json_delta", "partial_json", p) for p in pieces])
    if index == 0:
        frames.append(keepalive_frame("anthropic") or b"")
    end = len(frames)
    usage = _anthropic_usage(plan.usage, plan.usage.output_tokens)
    event("message_delta", f'{{"type":"message_delta","delta":{{"stop_reason":{_q(plan.reason)},'
          f'"stop_sequence":null}},"usage":{_compact(usage)}}}')
    event("message_stop", '{"type":"message_stop"}')
    return frames, end


def _anthropic_body(plan: _Plan) -> bytes:
    content: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        content.append({"type": "thinking", "thinking": plan.thinking,
                        "signature": _signature(plan.thinking)})
    if plan.text is not None and (plan.text or not plan.calls):
        content.append({"type": "text", "text": plan.text})
    for call in plan.calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name,
                        "input": call.arguments.arguments_dict()})
    body = {
        "model": plan.model, "id": f"msg_{plan.token[:24]}", "type": "message",
        "role": "assistant", "content": content,
        "stop_reason": plan.reason, "stop_sequence": None,
        "usage": dict(_anthropic_usage(plan.usage, plan.usage.output_tokens),
                      service_tier="standard"),
    }
    return _compact(body).encode()


# --- Gemini ---------------------------------------------------------------------------

def _gemini_usage(plan: _Plan, final: bool) -> Dict[str, Any]:
    usage = plan.usage
    prompt = {"promptTokenCount": usage.input_tokens}
    details = {"promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}]}
    if not final:
        return dict(prompt, totalTokenCount=usage.input_tokens, **details)
    # NOTE: Gemini counts thoughts beside candidatesTokenCount, not inside it.
    counts: Dict[str, Any] = dict(
        prompt, candidatesTokenCount=usage.output_tokens - usage.reasoning_tokens,
        totalTokenCount=usage.total_tokens,
    )
    if usage.cached_input_tokens:
        counts["cachedContentTokenCount"] = usage.cached_input_tokens
    counts.update(details)
    if usage.reasoning_tokens:
        counts["thoughtsTokenCount"] = usage.reasoning_tokens
    return counts


def _gemini_calls(plan: _Plan) -> List[Dict[str, Any]]:
    """Whole function-call parts, as both the stream and the plain body send them."""
    parts: List[Dict[str, Any]] = []
    for call in plan.calls:
        part: Dict[str, Any] = {"functionCall": {"name": call.name,
                                                 "args": call.arguments.arguments_dict()}}
        if plan.thinking is not None:
            # NOTE: with thinking on, a function call part carries a thoughtSignature.
            part["thoughtSignature"] = _signature(call.name + plan.thinking)
        parts.append(part)
    return parts


def _gemini_stream(plan: _Plan) -> Tuple[List[bytes], int]:
    tail = (f',"usageMetadata": {_google(_gemini_usage(plan, final=False))},'
            f'"modelVersion": {_q(plan.model)},"responseId": "{plan.token[:22]}"}}\r\n\r\n')
    head = 'data: {"candidates": [{"content": {"parts": ['
    # NOTE: Gemini ends each SSE event with CRLF CRLF.
    parts: List[Dict[str, Any]] = [{"text": p, "thought": True} for p in plan.thinking_pieces()]
    parts.extend({"text": p} for p in plan.text_pieces())
    frames = [f'{head}{_google(part)}],"role": "model"}},"index": 0}}]{tail}'.encode()
              for part in parts + _gemini_calls(plan)]
    end = len(frames)
    final = {
        "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"},
                        "finishReason": plan.reason, "index": 0}],
        "usageMetadata": _gemini_usage(plan, final=True),
        "modelVersion": plan.model,
        "responseId": plan.token[:22],
    }
    frames.append(f"data: {_google(final)}\r\n\r\n".encode())
    return frames, end


def _gemini_body(plan: _Plan) -> bytes:
    parts: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        parts.append({"text": plan.thinking, "thought": True})
    if plan.text is not None:
        parts.append({"text": plan.text})
    parts.extend(_gemini_calls(plan))
    body = {
        "candidates": [{"content": {"parts": parts, "role": "model"},
                        "finishReason": plan.reason, "index": 0}],
        "usageMetadata": _gemini_usage(plan, final=True),
        "modelVersion": plan.model,
        "responseId": plan.token[:22],
    }
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()


# --- Ollama ---------------------------------------------------------------------------

def _ollama_time(index: int) -> str:
    return f"2026-01-01T00:00:{index // 1000 % 60:02d}.{index % 1000:03d}000000Z"


def _ollama_calls(plan: _Plan) -> List[Dict[str, Any]]:
    return [{"id": c.id, "function": {"index": c.index, "name": c.name,
                                     "arguments": c.arguments.arguments_dict()}}
            for c in plan.calls]


def _ollama_final(plan: _Plan, index: int, message: Dict[str, Any]) -> Dict[str, Any]:
    usage = plan.usage
    return {
        "model": plan.model, "created_at": _ollama_time(index), "message": message,
        "done_reason": plan.reason, "done": True,
        "total_duration": 1_000_000 * (usage.input_tokens + usage.output_tokens + 100),
        "load_duration": 50_000_000,
        "prompt_eval_count": usage.input_tokens,
        "prompt_eval_duration": 1_000_000 * usage.input_tokens,
        "eval_count": usage.output_tokens,
        "eval_duration": 1_000_000 * usage.output_tokens,
    }


def _ollama_stream(plan: _Plan) -> Tuple[List[bytes], int]:
    model = _q(plan.model)
    frames: List[bytes] = []

    def line(message: Dict[str, Any]) -> None:
        frames.append(
            f'{{"model":{model},"created_at":"{_ollama_time(len(frames))}",'
            f'"message":{_go(message)},"done":false}}\n'.encode()
        )

    for piece in plan.thinking_pieces():
        line({"role": "assistant", "content": "", "thinking": piece})
    for piece in plan.text_pieces():
        line({"role": "assistant", "content": piece})
    if plan.calls:
        # NOTE: Ollama sends tool calls whole, in one line, with parsed arguments.
        line({"role": "assistant", "content": "", "tool_calls": _ollama_calls(plan)})
    end = len(frames)
    final = _ollama_final(plan, end, {"role": "assistant", "content": ""})
    frames.append((_go(final) + "\n").encode())
    return frames, end


def _ollama_body(plan: _Plan) -> bytes:
    message: Dict[str, Any] = {"role": "assistant", "content": plan.text or ""}
    if plan.thinking is not None:
        message["thinking"] = plan.thinking
    if plan.calls:
        message["tool_calls"] = _ollama_calls(plan)
    return _go(_ollama_final(plan, 0, message)).encode()


# --- faults ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _ErrorInfo:
    message: str
    openai_type: str
    openai_code: Optional[str]
    anthropic_type: str
    google_status: str
    google_code: int


_KIND_INFO: Dict[str, _ErrorInfo] = {
    "overloaded": _ErrorInfo("The model is overloaded. Please try again later.",
                             "server_error", None, "overloaded_error", "UNAVAILABLE", 503),
    "server_error": _ErrorInfo("The server had an error while processing your request.",
                               "server_error", None, "api_error", "INTERNAL", 500),
    "rate_limit": _ErrorInfo("Rate limit reached. Please try again in 1s.",
                             "requests", "rate_limit_exceeded", "rate_limit_error",
                             "RESOURCE_EXHAUSTED", 429),
    "invalid_request": _ErrorInfo("Invalid request: the fake provider was told to reject it.",
                                  "invalid_request_error", None, "invalid_request_error",
                                  "INVALID_ARGUMENT", 400),
    "context_overflow": _ErrorInfo(
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130000 tokens. Please reduce the length of the messages.",
        "invalid_request_error", "context_length_exceeded", "invalid_request_error",
        "INVALID_ARGUMENT", 400),
}

_KIND_MESSAGES: Dict[Tuple[str, str], str] = {
    ("anthropic", "overloaded"): "Overloaded",
    ("anthropic", "context_overflow"): "prompt is too long: 210000 tokens > 200000 maximum",
    ("gemini", "context_overflow"):
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    ("ollama", "overloaded"): "server busy, please try again.  maximum pending requests exceeded",
    ("ollama", "context_overflow"): "the input length exceeds the context length",
}

_STATUS_KIND = {400: "invalid_request", 408: "server_error", 409: "server_error",
                413: "invalid_request", 422: "invalid_request", 429: "rate_limit",
                503: "overloaded", 529: "overloaded"}


def _status_info(wire: str, status: int, model: str, message: Optional[str]) -> _ErrorInfo:
    kind = _STATUS_KIND.get(status, "server_error" if status >= 500 else "invalid_request")
    base = _KIND_INFO[kind]
    special: Dict[int, _ErrorInfo] = {
        401: _ErrorInfo("Incorrect API key provided. You can find your API key in your account "
                        "settings.", "invalid_request_error", "invalid_api_key",
                        "authentication_error", "UNAUTHENTICATED", 401),
        403: _ErrorInfo("Your key is not allowed to use this model.", "invalid_request_error",
                        "permission_denied", "permission_error", "PERMISSION_DENIED", 403),
        404: _ErrorInfo(f"The model `{model}` does not exist or you do not have access to it.",
                        "invalid_request_error", "model_not_found", "not_found_error",
                        "NOT_FOUND", 404),
    }
    info = special.get(status, base)
    text = message or _KIND_MESSAGES.get((wire, kind), info.message)
    if message is None and status == 404:
        text = {
            "anthropic": f"model: {model}",
            "gemini": f"models/{model} is not found for API version v1beta, or is not "
                      "supported for generateContent.",
            "ollama": f'model "{model}" not found, try pulling it first',
        }.get(wire, text)
    if message is None and status == 529:
        text = "Overloaded"
    return replace(info, message=text, google_code=status)


def _error_frames(wire: str, script: Script, plan: _Plan, seq: int) -> List[bytes]:
    custom = script.error_event if isinstance(script.error_event, Mapping) else None
    kind = script.error_kind or "overloaded"
    info = _KIND_INFO.get(kind, _KIND_INFO["overloaded"])
    message = _KIND_MESSAGES.get((wire, kind), info.message)
    if wire == "openai":
        payload = custom or {"error": {"message": message, "type": info.openai_type,
                                       "param": None, "code": info.openai_code}}
        return [_data(_compact(payload))]
    if wire == "openai-responses":
        error = custom or {"type": "error", "sequence_number": seq,
                           "code": info.openai_code or info.openai_type, "message": message,
                           "param": None}
        failed = _responses_object(plan, "failed", [], usage=False)
        failed["error"] = {"code": info.openai_code or info.openai_type, "message": message}
        # NOTE: a failing response sends `error`, then the terminal response.failed.
        return [
            _named("error", _compact(error)),
            _named("response.failed", _compact(
                {"type": "response.failed", "sequence_number": seq + 1, "response": failed})),
        ]
    if wire == "anthropic":
        payload = custom or {"type": "error",
                             "error": {"type": info.anthropic_type, "message": message}}
        return [_named("error", json.dumps(payload, ensure_ascii=False))]
    if wire == "gemini":
        payload = custom or {"error": {"code": info.google_code, "message": message,
                                       "status": info.google_status}}
        return [f"data: {_google(payload)}\r\n\r\n".encode()]
    return [(_go(custom or {"error": message}) + "\n").encode()]


_MALFORMED: Dict[str, bytes] = {
    "openai": b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choi\n\n',
    "openai-responses":
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","del\n\n',
    "anthropic":
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delt\n\n',
    "gemini": b'data: {"candidates": [{"content": {"parts": [{"te\r\n\r\n',
    "ollama": b'{"model":"broken","created_at":"2026-01-01T00:00:00Z","message":{"rol\n',
}
"""A frame whose JSON was cut in the middle, as a buggy proxy or server might send."""

_FINISH: Dict[str, Dict[str, str]] = {
    # NOTE: the neutral reasons are OpenAI's own words; other words are sent verbatim.
    "openai": {},
    "openai-responses": {"length": "max_output_tokens"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                  "content_filter": "refusal"},
    "gemini": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
               "content_filter": "SAFETY"},
    "ollama": {"tool_calls": "stop", "content_filter": "stop"},
}
"""Each wire's word for a normalised finish reason."""

_STREAMS: Dict[str, Callable[[_Plan], Tuple[List[bytes], int]]] = {
    "openai": _openai_stream,
    "openai-responses": _responses_stream,
    "anthropic": _anthropic_stream,
    "gemini": _gemini_stream,
    "ollama": _ollama_stream,
}

_BODIES: Dict[str, Callable[[_Plan], bytes]] = {
    "openai": _openai_body,
    "openai-responses": _responses_body,
    "anthropic": _anthropic_body,
    "gemini": _gemini_body,
    "ollama": _ollama_body,
}
