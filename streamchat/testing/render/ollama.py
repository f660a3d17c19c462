"""The fake's Ollama dialect: NDJSON lines as Go's JSON encoder writes them, tool calls
sent whole, durations in nanoseconds, and a bare `{"error": ...}` for failures; plus the
probes Ollama clients make before chatting (`/`, `/api/version`, `/api/tags`).

It imitates https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
and recorded streams of a local server.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...types import Image, Part, Text
from ...types.parts import sniff
from .common import (
    DEFAULT_MODEL,
    Plan,
    Rendered,
    Wire,
    compact,
    fake_logprobs,
    messages_prompt,
    quoted,
)
from .errors import ErrorInfo
from .parts import UnreadablePart, decoded, items, string

_JSON = "application/json; charset=utf-8"


def _go(value: Any) -> str:
    # NOTE: Ollama is written in Go, whose JSON encoder escapes <, > and & in strings.
    text = compact(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _time(index: int) -> str:
    return f"2026-01-01T00:00:{index // 1000 % 60:02d}.{index % 1000:03d}000000Z"


def _calls(plan: Plan) -> List[Dict[str, Any]]:
    return [{"id": c.id, "function": {"index": c.index, "name": c.name,
                                     "arguments": c.arguments.arguments_dict()}}
            for c in plan.calls]


def _final(plan: Plan, index: int, message: Dict[str, Any]) -> Dict[str, Any]:
    usage = plan.usage
    return {
        "model": plan.model, "created_at": _time(index), "message": message,
        "done_reason": plan.reason, "done": True,
        "total_duration": 1_000_000 * (usage.input_tokens + usage.output_tokens + 100),
        "load_duration": 50_000_000,
        "prompt_eval_count": usage.input_tokens,
        "prompt_eval_duration": 1_000_000 * usage.input_tokens,
        "eval_count": usage.output_tokens,
        "eval_duration": 1_000_000 * usage.output_tokens,
    }


def stream(plan: Plan) -> Tuple[List[bytes], int]:
    model = quoted(plan.model)
    frames: List[bytes] = []

    def line(message: Dict[str, Any], logprobs: str = "") -> None:
        frames.append(
            f'{{"model":{model},"created_at":"{_time(len(frames))}",'
            f'"message":{_go(message)},{logprobs}"done":false}}\n'.encode()
        )

    for piece in plan.thinking_pieces():
        line({"role": "assistant", "content": "", "thinking": piece})
    for piece in plan.text_pieces():
        logprobs = "" if plan.top_logprobs is None else (
            f'"logprobs":{_go(fake_logprobs(piece, plan.top_logprobs))},')
        line({"role": "assistant", "content": piece}, logprobs)
    if plan.calls:
        # NOTE: Ollama sends tool calls whole, in one line, with parsed arguments.
        line({"role": "assistant", "content": "", "tool_calls": _calls(plan)})
    end = len(frames)
    final = _final(plan, end, {"role": "assistant", "content": ""})
    frames.append((_go(final) + "\n").encode())
    return frames, end


def body(plan: Plan) -> bytes:
    message: Dict[str, Any] = {"role": "assistant", "content": plan.text or ""}
    if plan.thinking is not None:
        message["thinking"] = plan.thinking
    if plan.calls:
        message["tool_calls"] = _calls(plan)
    return _go(_final(plan, 0, message)).encode()


def error_body(info: ErrorInfo, status: int, token: str, retry_after: Any) -> Tuple[bytes, str]:
    return _go({"error": info.message}).encode(), _JSON


def error_frames(
    custom: Optional[Mapping[str, Any]], info: ErrorInfo, message: str, plan: Plan, sent: int
) -> List[bytes]:
    return [(_go(custom or {"error": message}) + "\n").encode()]


def wants_stream(body: Any, path: str) -> bool:
    # NOTE: Ollama streams unless told `"stream": false`.
    stream = body.get("stream") if isinstance(body, Mapping) else None
    return stream is not False


def probes(path: str) -> Optional[Rendered]:
    """What a running Ollama answers to the GETs clients use to find it and its models."""
    if path == "/":
        answer, kind = b"Ollama is running", "text/plain; charset=utf-8"
    elif path == "/api/version":
        answer, kind = b'{"version":"0.12.0"}', _JSON
    elif path == "/api/tags":
        tags = {"models": [{"name": DEFAULT_MODEL, "model": DEFAULT_MODEL, "size": 0}]}
        answer, kind = json.dumps(tags).encode(), _JSON
    else:
        return None
    return Rendered(200, (("Content-Type", kind),), (answer,))


# --- what a request carried ---------------------------------------------------------------
# https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-images


def request_parts(body: Any) -> List[Part]:
    """The text and images of the user and tool messages of a chat request."""
    parts: List[Part] = []
    for message in items(body.get("messages", []), "messages"):
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "tool"):
            continue
        text = string(message.get("content", ""), "content")
        if text:
            parts.append(Text(text))
        for i, image in enumerate(items(message.get("images", []), "images")):
            data = decoded(image, f"images[{i}]")
            media_type = sniff(data[:16])
            if media_type is None or not media_type.startswith("image/"):
                raise UnreadablePart(f"images[{i}] is not an image Ollama can read")
            parts.append(Image(data=data, media_type=media_type))
    return parts


WIRE = Wire(
    name="ollama",
    base_path="",
    serves=lambda path: path.endswith("/api/chat"),
    stream=stream,
    body=body,
    error_body=error_body,
    error_frames=error_frames,
    prompt=messages_prompt,
    malformed=b'{"model":"broken","created_at":"2026-01-01T00:00:00Z","message":{"rol\n',
    finish={"tool_calls": "stop", "content_filter": "stop", "refusal": "stop"},
    stream_type="application/x-ndjson",
    keepalive=None,
    cache_control=False,
    messages={"overloaded": "server busy, please try again.  maximum pending requests exceeded",
              "context_overflow": "the input length exceeds the context length"},
    not_found='model "{model}" not found, try pulling it first',
    wants_stream=wants_stream,
    get=probes,
    parts=request_parts,
)
