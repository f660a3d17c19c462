"""The fake's OpenAI Chat Completions dialect: chunk objects ending in `data: [DONE]`,
the plain `chat.completion` body, and OpenAI's error shape (shared with the Responses API).

It imitates https://platform.openai.com/docs/api-reference/chat-streaming and recorded
streams of the API, which OpenAI-compatible services (Groq, OpenRouter, DeepSeek, vLLM,
llama.cpp, LM Studio) copy closely.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...types import Audio, Document, Image, Part, RateLimit, Text
from ..script import TokenCounts
from .common import (
    CREATED,
    OBFUSCATION,
    Plan,
    Wire,
    compact,
    data,
    fake_logprobs,
    messages_prompt,
    quoted,
    split_text,
)
from .errors import ErrorInfo
from .parts import (
    ReadPart,
    UnreadablePart,
    content_parts,
    data_url,
    decoded,
    from_url,
    items,
    made,
    mapping,
    string,
    typed,
)


def usage_object(usage: TokenCounts) -> Dict[str, Any]:
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


def _annotations(plan: Plan) -> List[Dict[str, Any]]:
    return [
        {"type": "url_citation", "url_citation": {
            "start_index": c.start, "end_index": c.end, "title": c.title or c.url, "url": c.url}}
        for c in plan.citations
    ]


def stream(plan: Plan) -> Tuple[List[bytes], int]:
    head = (
        f'data: {{"id":"chatcmpl-{plan.token[:29]}","object":"chat.completion.chunk",'
        f'"created":{CREATED},"model":{quoted(plan.model)},"service_tier":"default",'
        f'"system_fingerprint":"fp_{plan.token[:10]}","choices":['
    )
    # NOTE: with include_usage every chunk carries "usage":null until the last one.
    usage_null = ',"usage":null' if plan.include_usage else ""
    tails = [f']{usage_null},"obfuscation":"{o}"}}\n\n' for o in OBFUSCATION]
    n = len(tails)
    frames: List[bytes] = []

    def chunk(choice: str) -> None:
        frames.append(f"{head}{choice}{tails[len(frames) % n]}".encode())

    chunk('{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
          '"logprobs":null,"finish_reason":null}')
    # NOTE: OpenAI itself does not stream reasoning; DeepSeek-style reasoning_content stands in.
    for piece in plan.thinking_pieces():
        chunk(f'{{"index":0,"delta":{{"reasoning_content":{quoted(piece)}}},'
              '"logprobs":null,"finish_reason":null}')
    for piece in plan.text_pieces():
        logprobs = "null" if plan.top_logprobs is None else compact(
            {"content": fake_logprobs(piece, plan.top_logprobs), "refusal": None})
        chunk(f'{{"index":0,"delta":{{"content":{quoted(piece)}}},"logprobs":{logprobs},'
              '"finish_reason":null}')
    for piece in split_text(plan.refusal or "", 12):
        chunk(f'{{"index":0,"delta":{{"refusal":{quoted(piece)}}},"logprobs":null,'
              '"finish_reason":null}')
    if plan.citations:
        # NOTE: search models send the answer's annotations in one delta after its text.
        chunk(f'{{"index":0,"delta":{{"annotations":{compact(_annotations(plan))}}},'
              '"logprobs":null,"finish_reason":null}')
    for call in plan.calls:
        chunk(f'{{"index":0,"delta":{{"tool_calls":[{{"index":{call.index},"id":{quoted(call.id)},'
              f'"type":"function","function":{{"name":{quoted(call.name)},"arguments":""}}}}]}},'
              '"logprobs":null,"finish_reason":null}')
        for piece in plan.argument_pieces(call.arguments.arguments_json()):
            chunk(f'{{"index":0,"delta":{{"tool_calls":[{{"index":{call.index},'
                  f'"function":{{"arguments":{quoted(piece)}}}}}]}},"logprobs":null,'
                  '"finish_reason":null}')
    end = len(frames)
    chunk(f'{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":{quoted(plan.reason)}}}')
    if plan.include_usage:
        # NOTE: the usage chunk has an empty choices list.
        frames.append(
            f"{head}],\"usage\":{compact(usage_object(plan.usage))},"
            f'"obfuscation":"{OBFUSCATION[0]}"}}\n\n'.encode()
        )
    frames.append(b"data: [DONE]\n\n")
    return frames, end


def body(plan: Plan) -> bytes:
    message: Dict[str, Any] = {"role": "assistant", "content": plan.text,
                               "refusal": plan.refusal, "annotations": _annotations(plan)}
    if plan.thinking:
        message["reasoning_content"] = plan.thinking
    if plan.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments.arguments_json()}}
            for c in plan.calls
        ]
    result = {
        "id": f"chatcmpl-{plan.token[:29]}",
        "object": "chat.completion",
        "created": CREATED,
        "model": plan.model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": plan.reason}],
        "usage": usage_object(plan.usage),
        "service_tier": "default",
        "system_fingerprint": f"fp_{plan.token[:10]}",
    }
    # NOTE: non-streamed completions come pretty-printed with two-space indents.
    return json.dumps(result, indent=2, ensure_ascii=False).encode()


def error_body(info: ErrorInfo, status: int, token: str, retry_after: Any) -> Tuple[bytes, str]:
    """OpenAI's error body, which the Responses API shares."""
    payload = {"error": {"message": info.message, "type": info.openai_type, "param": None,
                         "code": info.openai_code}}
    # NOTE: OpenAI pretty-prints error bodies with four-space indents.
    text = json.dumps(payload, indent=4, ensure_ascii=False) + "\n"
    return text.encode(), "application/json; charset=utf-8"


def error_frames(
    custom: Optional[Mapping[str, Any]], info: ErrorInfo, message: str, plan: Plan, sent: int
) -> List[bytes]:
    payload = custom or {"error": {"message": message, "type": info.openai_type,
                                   "param": None, "code": info.openai_code}}
    return [data(compact(payload))]


def go_duration(seconds: float) -> str:
    """Seconds as Go prints a duration ("20ms", "1s", "6m0s", "2m59.56s")."""
    if seconds < 1:
        return f"{round(seconds * 1000):d}ms"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{round(rest, 3):g}s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    return f"{hours}h{text}" if hours else text


def rate_limit_headers(limit: RateLimit, now: float) -> List[Tuple[str, str]]:
    """OpenAI's (and Groq's) rate-limit headers, resets as durations.

    https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
    """
    headers: List[Tuple[str, str]] = []
    for kind in ("requests", "tokens"):
        limit_value, remaining, reset = (getattr(limit, f"{kind}_{field}")
                                         for field in ("limit", "remaining", "reset"))
        if limit_value is not None:
            headers.append((f"x-ratelimit-limit-{kind}", str(limit_value)))
        if remaining is not None:
            headers.append((f"x-ratelimit-remaining-{kind}", str(remaining)))
        if reset is not None:
            headers.append((f"x-ratelimit-reset-{kind}", go_duration(reset)))
    return headers


# --- what a request carried ---------------------------------------------------------------
# https://platform.openai.com/docs/guides/images-vision, .../pdf-files, .../audio

_AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def _image(item: Mapping[str, Any]) -> List[Part]:
    image = mapping(item.get("image_url"), "image_url")
    if image.get("detail") not in (None, "auto", "low", "high"):
        raise UnreadablePart(f"image_url.detail must be auto, low or high, not {image['detail']!r}")
    return [from_url(Image, image.get("url"), "image_url.url", detail=image.get("detail"))]


def _file(item: Mapping[str, Any]) -> List[Part]:
    file = mapping(item.get("file"), "file")
    if file.get("file_id") is not None:
        return [Document(file_id=string(file["file_id"], "file.file_id"))]
    fields = data_url(file.get("file_data"), "file.file_data")
    if fields["media_type"] != "application/pdf":
        raise UnreadablePart("file.file_data must be a PDF")
    return [made(Document, "file", name=file.get("filename"), **fields)]


def _audio(item: Mapping[str, Any]) -> List[Part]:
    audio = mapping(item.get("input_audio"), "input_audio")
    media_type = _AUDIO_FORMATS.get(str(audio.get("format")))
    if media_type is None:
        raise UnreadablePart(f"input_audio.format must be wav or mp3, not {audio.get('format')!r}")
    return [Audio(data=decoded(audio.get("data"), "input_audio.data"), media_type=media_type)]


def _text(item: Mapping[str, Any]) -> List[Part]:
    return [Text(string(item.get("text"), "text"))]


_READERS: Dict[str, ReadPart] = {
    "text": _text,
    "image_url": _image,
    "file": _file,
    "input_audio": _audio,
}


def request_parts(body: Any) -> List[Part]:
    """The parts of the user messages and tool results of a Chat Completions request."""
    parts: List[Part] = []
    for message in items(body.get("messages", []), "messages"):
        if isinstance(message, Mapping) and message.get("role") in ("user", "tool"):
            parts.extend(content_parts(message.get("content", ""),
                                       lambda item: typed(item, _READERS, "content part")))
    return parts

WIRE = Wire(
    name="openai",
    base_path="/v1",
    serves=lambda path: path.endswith("/chat/completions"),
    stream=stream,
    body=body,
    error_body=error_body,
    error_frames=error_frames,
    prompt=messages_prompt,
    malformed=b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choi\n\n',
    # NOTE: the neutral finish reasons are OpenAI's own words.
    finish={"refusal": "stop"},
    request_id=("x-request-id", 64),
    rate_limits=rate_limit_headers,
    parts=request_parts,
)
