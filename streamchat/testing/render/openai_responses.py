"""The fake's OpenAI Responses dialect: typed, sequence-numbered events around output
items (reasoning, message, function calls), and the plain `response` object.

It imitates https://platform.openai.com/docs/api-reference/responses-streaming and
recorded streams of the API; errors share OpenAI's shape (see `openai_chat`).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...types import Document, Image, Part, Text
from ..script import ServerToolSpec, TokenCounts
from .common import (
    CREATED,
    OBFUSCATION,
    Plan,
    Wire,
    compact,
    last_user_text,
    named,
    quoted,
    split_text,
)
from .errors import ErrorInfo
from .openai_chat import error_body, rate_limit_headers
from .parts import (
    ReadPart,
    UnreadablePart,
    content_parts,
    data_url,
    from_url,
    items,
    made,
    string,
    typed,
)


def _usage(usage: TokenCounts) -> Dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _response(plan: Plan, status: str, output: List[Any], usage: bool) -> Dict[str, Any]:
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
        "usage": _usage(plan.usage) if usage else None,
        "user": None,
        "metadata": {},
    }


def _status(plan: Plan) -> str:
    return "completed" if plan.finish in ("stop", "tool_calls", "refusal") else "incomplete"


def _items(plan: Plan) -> List[Dict[str, Any]]:
    """The finished output items, in output order: reasoning, message, function calls."""
    items: List[Dict[str, Any]] = []
    if plan.thinking is not None:
        items.append({"id": f"rs_{plan.token[:48]}", "type": "reasoning",
                      "summary": [{"type": "summary_text", "text": plan.thinking}]})
    items.extend(_server_item(tool) for tool in plan.server_tools)
    content: List[Dict[str, Any]] = []
    if plan.text is not None:
        notes = [{"type": "url_citation", "start_index": c.start, "end_index": c.end,
                  "title": c.title or c.url, "url": c.url} for c in plan.citations]
        content.append({"type": "output_text", "annotations": notes, "logprobs": [],
                        "text": plan.text})
    if plan.refusal is not None:
        content.append({"type": "refusal", "refusal": plan.refusal})
    if content:
        items.append({"id": f"msg_{plan.token[:48]}", "type": "message", "status": "completed",
                      "content": content, "role": "assistant"})
    for call in plan.calls:
        items.append({"id": f"fc_{plan.token[:40]}{call.index:02d}", "type": "function_call",
                      "status": "completed", "arguments": call.arguments.arguments_json(),
                      "call_id": call.id, "name": call.name})
    return items


def _server_item(tool: ServerToolSpec) -> Dict[str, Any]:
    """A built-in tool's output item: web search and code interpreter as OpenAI names
    them, anything else as an MCP call."""
    if tool.name == "web_search":
        return {"id": tool.id, "type": "web_search_call", "status": "completed",
                "action": {"type": "search", **tool.input, "sources": tool.output}}
    if tool.name in ("code_interpreter", "code_execution"):
        return {"id": tool.id, "type": "code_interpreter_call", "status": "completed",
                "code": tool.input.get("code", ""), "container_id": "cntr_fake",
                "outputs": tool.output}
    return {"id": tool.id, "type": "mcp_call", "status": "completed", "name": tool.name,
            "server_label": "fake", "arguments": compact(tool.input), "output": tool.output}


def stream(plan: Plan) -> Tuple[List[bytes], int]:
    frames: List[bytes] = []

    def event(name: str, fields: str) -> None:
        # NOTE: every Responses event repeats its name as `type` and carries a sequence_number.
        frames.append(
            f'event: {name}\ndata: {{"type":"{name}","sequence_number":{len(frames)},{fields}}}\n\n'
            .encode()
        )

    def deltas(name: str, ids: str, pieces: List[str], extra: str = "") -> None:
        for piece in pieces:
            event(name, f'{ids},"delta":{quoted(piece)},{extra}'
                  f'"obfuscation":"{OBFUSCATION[len(frames) % len(OBFUSCATION)]}"')

    skeleton = _response(plan, "in_progress", [], usage=False)
    event("response.created", f'"response":{compact(skeleton)}')
    event("response.in_progress", f'"response":{compact(skeleton)}')
    items = _items(plan)
    for index, item in enumerate(items):
        ids = f'"item_id":"{item["id"]}","output_index":{index}'
        kind = item["type"]
        if kind == "reasoning":
            event("response.output_item.added",
                  f'"output_index":{index},"item":{compact(dict(item, summary=[]))}')
            text = item["summary"][0]["text"]
            part: Dict[str, Any] = {"type": "summary_text", "text": ""}
            event("response.reasoning_summary_part.added",
                  f'{ids},"summary_index":0,"part":{compact(part)}')
            deltas("response.reasoning_summary_text.delta", f'{ids},"summary_index":0',
                   plan.thinking_pieces())
            event("response.reasoning_summary_text.done",
                  f'{ids},"summary_index":0,"text":{quoted(text)}')
            event("response.reasoning_summary_part.done",
                  f'{ids},"summary_index":0,"part":{compact(dict(part, text=text))}')
        elif kind == "message":
            added = dict(item, status="in_progress", content=[])
            event("response.output_item.added", f'"output_index":{index},"item":{compact(added)}')
            for at, whole in enumerate(item["content"]):
                where = f'{ids},"content_index":{at}'
                if whole["type"] == "refusal":
                    empty: Dict[str, Any] = {"type": "refusal", "refusal": ""}
                    event("response.content_part.added", f'{where},"part":{compact(empty)}')
                    deltas("response.refusal.delta", where, split_text(plan.refusal or "", 12))
                    done = f'{where},"refusal":{quoted(plan.refusal or "")}'
                    event("response.refusal.done", done)
                    event("response.content_part.done", f'{where},"part":{compact(whole)}')
                    continue
                part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
                event("response.content_part.added", f'{where},"part":{compact(part)}')
                deltas("response.output_text.delta", where, plan.text_pieces(),
                       extra='"logprobs":[],')
                for number, note in enumerate(whole["annotations"]):
                    event("response.output_text.annotation.added",
                          f'{where},"annotation_index":{number},"annotation":{compact(note)}')
                event("response.output_text.done",
                      f'{where},"text":{quoted(plan.text or "")},"logprobs":[]')
                event("response.content_part.done", f'{where},"part":{compact(whole)}')
        elif kind != "function_call":
            event("response.output_item.added",
                  f'"output_index":{index},"item":{compact(dict(item, status="in_progress"))}')
        else:
            added = dict(item, status="in_progress", arguments="")
            event("response.output_item.added", f'"output_index":{index},"item":{compact(added)}')
            deltas("response.function_call_arguments.delta", ids,
                   plan.argument_pieces(item["arguments"]))
            event("response.function_call_arguments.done",
                  f'{ids},"arguments":{quoted(item["arguments"])}')
        event("response.output_item.done", f'"output_index":{index},"item":{compact(item)}')
    end = len(frames)
    status = _status(plan)
    final = _response(plan, status, items, usage=True)
    # NOTE: a response cut short by max_output_tokens ends with response.incomplete.
    event("response.completed" if status == "completed" else "response.incomplete",
          f'"response":{compact(final)}')
    return frames, end


def body(plan: Plan) -> bytes:
    result = _response(plan, _status(plan), _items(plan), usage=True)
    return json.dumps(result, indent=2, ensure_ascii=False).encode()


def error_frames(
    custom: Optional[Mapping[str, Any]], info: ErrorInfo, message: str, plan: Plan, sent: int
) -> List[bytes]:
    code = info.openai_code or info.openai_type
    error = custom or {"type": "error", "sequence_number": sent, "code": code,
                       "message": message, "param": None}
    failed = _response(plan, "failed", [], usage=False)
    failed["error"] = {"code": code, "message": message}
    # NOTE: a failing response sends `error`, then the terminal response.failed.
    return [
        named("error", compact(error)),
        named("response.failed", compact(
            {"type": "response.failed", "sequence_number": sent + 1, "response": failed})),
    ]


def prompt(body: Any) -> str:
    """The last user text; `input` may be a bare string instead of a list of items."""
    if not isinstance(body, Mapping):
        return ""
    if isinstance(body.get("input"), str):
        return str(body["input"])
    return last_user_text(body.get("input"))


# --- what a request carried ---------------------------------------------------------------
# https://platform.openai.com/docs/guides/images-vision?api-mode=responses, .../pdf-files


def _input_text(item: Mapping[str, Any]) -> List[Part]:
    return [Text(string(item.get("text"), "input_text.text"))]


def _input_image(item: Mapping[str, Any]) -> List[Part]:
    detail = item.get("detail")
    if detail not in ("auto", "low", "high"):
        raise UnreadablePart(f"input_image.detail must be auto, low or high, not {detail!r}")
    if item.get("file_id") is not None:
        return [Image(file_id=string(item["file_id"], "input_image.file_id"), detail=detail)]
    return [from_url(Image, item.get("image_url"), "input_image.image_url", detail=detail)]


def _input_file(item: Mapping[str, Any]) -> List[Part]:
    if item.get("file_id") is not None:
        return [Document(file_id=string(item["file_id"], "input_file.file_id"))]
    if item.get("file_url") is not None:
        return [Document(url=string(item["file_url"], "input_file.file_url"))]
    fields = data_url(item.get("file_data"), "input_file.file_data")
    return [made(Document, "input_file", name=item.get("filename"), **fields)]


_READERS: Dict[str, ReadPart] = {
    "input_text": _input_text, "input_image": _input_image, "input_file": _input_file,
}


def _read(item: Any) -> List[Part]:
    return typed(item, _READERS, "input content")


def request_parts(body: Any) -> List[Part]:
    """The parts of the user messages and function outputs of a Responses request."""
    given = body.get("input", [])
    if isinstance(given, str):
        return content_parts(given, _read)
    parts: List[Part] = []
    for item in items(given, "input"):
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "function_call_output":
            parts.extend(content_parts(item.get("output", ""), _read))
        elif item.get("role") == "user":
            parts.extend(content_parts(item.get("content", ""), _read))
    return parts


WIRE = Wire(
    name="openai-responses",
    base_path="/v1",
    serves=lambda path: path.endswith("/responses"),
    stream=stream,
    body=body,
    error_body=error_body,
    error_frames=error_frames,
    prompt=prompt,
    malformed=(b'event: response.output_text.delta\n'
               b'data: {"type":"response.output_text.delta","del\n\n'),
    finish={"length": "max_output_tokens"},
    request_id=("x-request-id", 64),
    parts=request_parts,
    rate_limits=rate_limit_headers,
)
