"""The fake's Gemini dialect: `alt=sse` chunks that are whole GenerateContentResponse
objects ending in CRLF CRLF, the plain response body, and Google's RPC error shape.

It imitates https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
and recorded streams of the API. Gemini names the model and the streaming mode in the
path rather than in the body.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ...types import Audio, Document, Image, Part, Text
from .common import (
    DEFAULT_MODEL,
    Plan,
    Wire,
    fake_logprobs,
    last_user_text,
    number,
    quoted,
    signature,
)
from .errors import ErrorInfo
from .parts import UnreadablePart, decoded, items, made, mapping, string


def _google(value: Any) -> str:
    # NOTE: Gemini's stream JSON puts a space after colons but none after commas.
    return json.dumps(value, separators=(",", ": "), ensure_ascii=False)


def _usage(plan: Plan, final: bool) -> Dict[str, Any]:
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


def _calls(plan: Plan) -> List[Dict[str, Any]]:
    """Whole function-call parts, as both the stream and the plain body send them."""
    parts: List[Dict[str, Any]] = []
    for call in plan.calls:
        part: Dict[str, Any] = {"functionCall": {"name": call.name,
                                                 "args": call.arguments.arguments_dict()}}
        if plan.thinking is not None:
            # NOTE: with thinking on, a function call part carries a thoughtSignature.
            part["thoughtSignature"] = signature(call.name + plan.thinking)
        parts.append(part)
    return parts


def _code_runs(plan: Plan) -> List[Dict[str, Any]]:
    """Code execution parts: the code the model ran, then its result."""
    parts: List[Dict[str, Any]] = []
    for tool in plan.server_tools:
        if tool.name in ("code_execution", "code_interpreter"):
            code = {"language": "PYTHON", **tool.input, "id": tool.id}
            output = tool.output if isinstance(tool.output, dict) else {
                "outcome": "OUTCOME_OK", "output": str(tool.output or "")}
            parts += [{"executableCode": code}, {"codeExecutionResult": {**output, "id": tool.id}}]
    return parts


def _grounding(plan: Plan) -> Dict[str, Any]:
    """Search grounding on the last chunk: sources, and the byte spans each supports."""
    searches = [t for t in plan.server_tools if t.name in ("google_search", "web_search")]
    if not plan.citations and not searches:
        return {}
    text = plan.text or ""
    metadata: Dict[str, Any] = {
        "webSearchQueries": [q for t in searches for q in t.input.get("queries", ())
                             or [t.input.get("query", "")]],
        "groundingChunks": [{"web": {"uri": c.url, "title": c.title or c.url}}
                            for c in plan.citations],
        # NOTE: segment offsets count UTF-8 bytes of the answer, not characters.
        "groundingSupports": [
            {"segment": {"startIndex": len(text[:c.start or 0].encode("utf-8")),
                         "endIndex": len(text[:c.end].encode("utf-8")),
                         "text": text[c.start:c.end]},
             "groundingChunkIndices": [i]}
            for i, c in enumerate(plan.citations)
        ],
    }
    return {"groundingMetadata": metadata}


def stream(plan: Plan) -> Tuple[List[bytes], int]:
    tail = (f',"usageMetadata": {_google(_usage(plan, final=False))},'
            f'"modelVersion": {quoted(plan.model)},"responseId": "{plan.token[:22]}"}}\r\n\r\n')
    head = 'data: {"candidates": [{"content": {"parts": ['
    # NOTE: Gemini ends each SSE event with CRLF CRLF.
    parts: List[Dict[str, Any]] = [{"text": p, "thought": True} for p in plan.thinking_pieces()]
    parts.extend(_code_runs(plan))
    parts.extend({"text": p} for p in plan.text_pieces())
    frames = [f'{head}{_google(part)}],"role": "model"}},"index": 0{_logprobs(plan, part)}}}]'
              f'{tail}'.encode() for part in parts + _calls(plan)]
    end = len(frames)
    final = {
        "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"},
                        "finishReason": plan.reason, "index": 0, **_grounding(plan)}],
        "usageMetadata": _usage(plan, final=True),
        "modelVersion": plan.model,
        "responseId": plan.token[:22],
    }
    frames.append(f"data: {_google(final)}\r\n\r\n".encode())
    return frames, end


def _logprobs(plan: Plan, part: Dict[str, Any]) -> str:
    """A text part's logprobsResult, when asked for:
    https://ai.google.dev/api/generate-content#LogprobsResult"""
    if plan.top_logprobs is None or part.get("thought") or not isinstance(part.get("text"), str):
        return ""
    (entry,) = fake_logprobs(part["text"], plan.top_logprobs)
    chosen = {"token": entry["token"], "logProbability": entry["logprob"]}
    top = [{"token": t["token"], "logProbability": t["logprob"]} for t in entry["top_logprobs"]]
    result = {"topCandidates": [{"candidates": top}], "chosenCandidates": [chosen]}
    return f',"logprobsResult": {_google(result)}'


def body(plan: Plan) -> bytes:
    parts: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        parts.append({"text": plan.thinking, "thought": True})
    parts.extend(_code_runs(plan))
    if plan.text is not None:
        parts.append({"text": plan.text})
    parts.extend(_calls(plan))
    result = {
        "candidates": [{"content": {"parts": parts, "role": "model"},
                        "finishReason": plan.reason, "index": 0, **_grounding(plan)}],
        "usageMetadata": _usage(plan, final=True),
        "modelVersion": plan.model,
        "responseId": plan.token[:22],
    }
    return (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode()


def error_body(info: ErrorInfo, status: int, token: str, retry_after: Any) -> Tuple[bytes, str]:
    error: Dict[str, Any] = {"code": status, "message": info.message,
                             "status": info.google_status}
    if isinstance(retry_after, (int, float)) and status == 429:
        # NOTE: Gemini says how long to wait in the body, as a google.rpc.RetryInfo.
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                             "retryDelay": f"{number(retry_after)}s"}]
    text = json.dumps({"error": error}, indent=2, ensure_ascii=False) + "\n"
    return text.encode(), "application/json; charset=UTF-8"


def error_frames(
    custom: Optional[Mapping[str, Any]], info: ErrorInfo, message: str, plan: Plan, sent: int
) -> List[bytes]:
    payload = custom or {"error": {"code": info.google_code, "message": message,
                                   "status": info.google_status}}
    return [f"data: {_google(payload)}\r\n\r\n".encode()]


def wants_stream(body: Any, path: str) -> bool:
    return ":streamGenerateContent" in path


def model_of(body: Any, path: str) -> str:
    match = re.search(r"models/([^/:]+)", path)
    return match.group(1) if match else DEFAULT_MODEL


def prompt(body: Any) -> str:
    # NOTE: Gemini may leave out the role of a user turn; other wires always name it.
    return last_user_text(body.get("contents"), "user") if isinstance(body, Mapping) else ""


# --- what a request carried ---------------------------------------------------------------
# https://ai.google.dev/api/caching#Part (inlineData, fileData) and
# https://ai.google.dev/gemini-api/docs/function-calling#multimodal (functionResponse.parts)


def _kind(media_type: str) -> Callable[..., Part]:
    family = media_type.split("/", 1)[0]
    return Image if family == "image" else Audio if family == "audio" else Document


def _part(item: Any) -> List[Part]:
    fields = mapping(item, "part")
    if "text" in fields:
        return [Text(string(fields["text"], "text"))]
    if "inlineData" in fields:
        blob = mapping(fields["inlineData"], "inlineData")
        media_type = string(blob.get("mimeType"), "inlineData.mimeType")
        data = decoded(blob.get("data"), "inlineData.data")
        return [made(_kind(media_type), "inlineData", data=data, media_type=media_type)]
    if "fileData" in fields:
        file = mapping(fields["fileData"], "fileData")
        media_type = string(file.get("mimeType"), "fileData.mimeType")
        uri = string(file.get("fileUri"), "fileData.fileUri")
        return [made(_kind(media_type), "fileData", url=uri, media_type=media_type)]
    if "functionResponse" in fields:
        response = mapping(fields["functionResponse"], "functionResponse")
        return [p for sub in items(response.get("parts", []), "parts") for p in _part(sub)]
    if "functionCall" in fields:
        return []
    raise UnreadablePart(f"a part with none of text, inlineData, fileData: {sorted(fields)}")


def request_parts(body: Any) -> List[Part]:
    """The parts of the user turns (function responses included) of a Gemini request."""
    parts: List[Part] = []
    for content in items(body.get("contents", []), "contents"):
        if isinstance(content, Mapping) and content.get("role", "user") == "user":
            for item in items(content.get("parts", []), "parts"):
                parts.extend(_part(item))
    return parts


WIRE = Wire(
    name="gemini",
    base_path="/v1beta",
    serves=lambda path: ":streamGenerateContent" in path or ":generateContent" in path,
    stream=stream,
    body=body,
    error_body=error_body,
    error_frames=error_frames,
    prompt=prompt,
    malformed=b'data: {"candidates": [{"content": {"parts": [{"te\r\n\r\n',
    finish={"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
            "content_filter": "SAFETY", "refusal": "SAFETY"},
    stream_type="text/event-stream",
    body_type="application/json; charset=UTF-8",
    keepalive=b": ping\r\n\r\n",
    parts=request_parts,
    messages={"context_overflow": "The input token count (1200000) exceeds the maximum number "
                                  "of tokens allowed (1048576)."},
    not_found="models/{model} is not found for API version v1beta, or is not supported for "
              "generateContent.",
    wants_stream=wants_stream,
    model_of=model_of,
)
