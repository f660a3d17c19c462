"""Response bodies of N text deltas in each wire format, shaped like the providers' own
streams (the same envelope events, field order, id lengths and separators), rendered once
and kept as bytes so that the server spends nothing per event.

Shapes follow the fixtures under tests/fixtures/, which cite the providers' documentation
and recorded streams: OpenAI Chat chunks with `obfuscation` padding and an include_usage
chunk, the Responses API's typed events with `sequence_number`, Anthropic's content blocks
with a `ping`, Gemini's CRLF-framed GenerateContentResponse repeating `usageMetadata`,
and Ollama's NDJSON lines.
"""

from __future__ import annotations

import json
from typing import Callable, Dict, List, NamedTuple

WIRES = ("openai", "openai-responses", "anthropic", "gemini", "ollama")

_WORDS = (
    " The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
    " Café", " crème", " and", " a", " croissant", ",", " please", "!", " It", "'s",
    " about", " 42", " km", " from", " here", " —", " roughly", " an", " hour", ".",
)


def delta(i: int) -> str:
    """The text of the i-th delta: short word pieces like real tokens, some non-ASCII."""
    return _WORDS[i % len(_WORDS)]


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _sse(data: object, event: str = "") -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {_dumps(data)}\n\n".encode()


# -- OpenAI Chat Completions -------------------------------------------------------------

_CHAT_ID = "chatcmpl-C9xQ1ZpQk3v8Hh2bYt6uJw0RnLmAe"


def _chat_chunk(
    delta_obj: Dict[str, object], finish: object = None, i: int = 0
) -> Dict[str, object]:
    return {
        "id": _CHAT_ID,
        "object": "chat.completion.chunk",
        "created": 1756300000,
        "model": "gpt-4.1-mini-2025-04-14",
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5",
        "choices": [
            {"index": 0, "delta": delta_obj, "logprobs": None, "finish_reason": finish}
        ],
        "usage": None,
        "obfuscation": "Qx2bzk"[: 1 + i % 6],
    }


def _openai_text(i: int, text: str) -> bytes:
    return _sse(_chat_chunk({"content": text}, i=i))


def _openai_tail(n: int) -> List[bytes]:
    usage = {
        "id": _CHAT_ID, "object": "chat.completion.chunk", "created": 1756300000,
        "model": "gpt-4.1-mini-2025-04-14", "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5", "choices": [],
        "usage": {
            "prompt_tokens": 19, "completion_tokens": n, "total_tokens": 19 + n,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
            },
        },
        "obfuscation": "x",
    }
    return [_sse(_chat_chunk({}, "stop")), _sse(usage), b"data: [DONE]\n\n"]


def _openai_head(n: int) -> List[bytes]:
    return [_sse(_chat_chunk({"role": "assistant", "content": "", "refusal": None}))]


# -- OpenAI Responses --------------------------------------------------------------------

_RESP_ID = "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"
_MSG_ID = "msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654"


def _response(status: str, output: List[object], usage: object) -> Dict[str, object]:
    return {
        "id": _RESP_ID, "object": "response", "created_at": 1741290958, "status": status,
        "background": False, "error": None, "incomplete_details": None, "instructions": None,
        "max_output_tokens": None, "model": "gpt-4.1-2025-04-14", "output": output,
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": True, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
    }


def _responses_event(kind: str, seq: int, **fields: object) -> bytes:
    return _sse({"type": kind, **fields, "sequence_number": seq}, kind)


def _responses_head(n: int) -> List[bytes]:
    return [
        _responses_event("response.created", 0, response=_response("in_progress", [], None)),
        _responses_event("response.in_progress", 1, response=_response("in_progress", [], None)),
        _responses_event(
            "response.output_item.added", 2, output_index=0,
            item={"id": _MSG_ID, "type": "message", "status": "in_progress", "content": [],
                  "role": "assistant"},
        ),
        _responses_event(
            "response.content_part.added", 3, item_id=_MSG_ID, output_index=0,
            content_index=0,
            part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        ),
    ]


def _responses_text(i: int, text: str) -> bytes:
    return _responses_event(
        "response.output_text.delta", 4 + i, item_id=_MSG_ID, output_index=0,
        content_index=0, delta=text, logprobs=[], obfuscation="Qx2bzk"[: 1 + i % 6],
    )


def _responses_tail(n: int) -> List[bytes]:
    # NOTE: the closing events repeat the whole text four times, as the real API does.
    text = "".join(delta(i) for i in range(n))
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item = {"id": _MSG_ID, "type": "message", "status": "completed", "content": [part],
            "role": "assistant"}
    usage = {"input_tokens": 37, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": n, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 37 + n}
    seq = 4 + n
    return [
        _responses_event("response.output_text.done", seq, item_id=_MSG_ID, output_index=0,
                         content_index=0, text=text, logprobs=[]),
        _responses_event("response.content_part.done", seq + 1, item_id=_MSG_ID,
                         output_index=0, content_index=0, part=part),
        _responses_event("response.output_item.done", seq + 2, output_index=0, item=item),
        _responses_event("response.completed", seq + 3,
                         response=_response("completed", [item], usage)),
    ]


# -- Anthropic ---------------------------------------------------------------------------


def _anthropic_head(n: int) -> List[bytes]:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message",
            "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929",
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1,
                      "service_tier": "standard"},
        },
    }
    return [
        _sse(start, "message_start"),
        _sse({"type": "content_block_start", "index": 0,
              "content_block": {"type": "text", "text": ""}}, "content_block_start"),
        _sse({"type": "ping"}, "ping"),
    ]


def _anthropic_text(i: int, text: str) -> bytes:
    return _sse({"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": text}}, "content_block_delta")


def _anthropic_tail(n: int) -> List[bytes]:
    return [
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse({"type": "message_delta",
              "delta": {"stop_reason": "end_turn", "stop_sequence": None},
              "usage": {"output_tokens": n}}, "message_delta"),
        _sse({"type": "message_stop"}, "message_stop"),
    ]


# -- Gemini ------------------------------------------------------------------------------


def _gemini_chunk(text: str, finish: bool = False, n: int = 0) -> bytes:
    candidate: Dict[str, object] = {"content": {"parts": [{"text": text}], "role": "model"}}
    usage: Dict[str, object] = {"promptTokenCount": 8, "totalTokenCount": 8,
                                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]}
    if finish:
        candidate["finishReason"] = "STOP"
        usage = {"promptTokenCount": 8, "candidatesTokenCount": n, "totalTokenCount": 8 + n,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]}
    candidate["index"] = 0
    chunk = {"candidates": [candidate], "usageMetadata": usage,
             "modelVersion": "gemini-2.5-flash", "responseId": "nY3YaOPQBr2uz7IPmJn7kAQ"}
    # NOTE: Google's server frames its events with CRLF and puts ": " after keys.
    data = json.dumps(chunk, separators=(",", ": "), ensure_ascii=False)
    return f"data: {data}\r\n\r\n".encode()


def _gemini_head(n: int) -> List[bytes]:
    return []


def _gemini_text(i: int, text: str) -> bytes:
    return _gemini_chunk(text)


def _gemini_tail(n: int) -> List[bytes]:
    return [_gemini_chunk("", finish=True, n=n)]


# -- Ollama ------------------------------------------------------------------------------


def _ollama_head(n: int) -> List[bytes]:
    return []


def _ollama_text(i: int, text: str) -> bytes:
    line = {"model": "llama3.2", "created_at": f"2025-08-04T08:52:19.{i % 1000000:06d}455Z",
            "message": {"role": "assistant", "content": text}, "done": False}
    return (_dumps(line) + "\n").encode()


def _ollama_tail(n: int) -> List[bytes]:
    end = {"model": "llama3.2", "created_at": "2025-08-04T08:52:45.499127Z",
           "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": True,
           "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": 26,
           "prompt_eval_duration": 342546000, "eval_count": n, "eval_duration": 4535599000}
    return [(_dumps(end) + "\n").encode()]


class Renderer(NamedTuple):
    head: Callable[[int], List[bytes]]
    text: Callable[[int, str], bytes]
    tail: Callable[[int], List[bytes]]
    content_type: str = "text/event-stream"


RENDERERS: Dict[str, Renderer] = {
    "openai": Renderer(_openai_head, _openai_text, _openai_tail),
    "openai-responses": Renderer(_responses_head, _responses_text, _responses_tail),
    "anthropic": Renderer(_anthropic_head, _anthropic_text, _anthropic_tail),
    "gemini": Renderer(_gemini_head, _gemini_text, _gemini_tail),
    "ollama": Renderer(_ollama_head, _ollama_text, _ollama_tail, "application/x-ndjson"),
}


def frames(wire: str, n: int) -> List[bytes]:
    """The body as the server would flush it: one piece per event."""
    r = RENDERERS[wire]
    return r.head(n) + [r.text(i, delta(i)) for i in range(n)] + r.tail(n)


def typical_chunk(wire: str) -> str:
    """The JSON text of one text-delta event: the unit `json.loads` is timed on."""
    frame = RENDERERS[wire].text(7, delta(7)).decode()
    for line in frame.splitlines():
        if line.startswith("data:"):
            return line[5:].strip()
    return frame.strip()
