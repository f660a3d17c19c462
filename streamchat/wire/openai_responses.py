"""OpenAI Responses API (`POST {base}/responses`), the only API some OpenAI models speak.

Unlike Chat Completions it streams named semantic events and ends with a terminal event
(`response.completed`, `response.incomplete` or `response.failed`) rather than `[DONE]`, so
a stream that stops without one was cut off.

Streaming spec: https://platform.openai.com/docs/api-reference/responses-streaming
Guide: https://platform.openai.com/docs/guides/streaming-responses
Content parts: https://platform.openai.com/docs/guides/images-vision?api-mode=responses and
https://platform.openai.com/docs/guides/pdf-files?api-mode=responses
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..types import (
    ChatRequest,
    Document,
    HttpRequest,
    Image,
    Message,
    Part,
    Text,
    Tool,
)
from . import builtin_tools, controls, responses_decode
from .common import (
    Endpoint,
    auth_headers,
    drop_none,
    join_url,
    merge_extra,
)
from .openai_chat import effort_for
from .parts import file_name, message_text, refuse_citations, text_only, unsupported
from .responses_items import replay_items

FRAMING = "sse"

# The reading half lives in responses_decode; the wire format is this module.
Decoder = responses_decode.Decoder
new_decoder = responses_decode.new_decoder
decode_body = responses_decode.decode_body


def input_part(provider: str, part: Part) -> Dict[str, Any]:
    """One part of a user message or a tool output in the Responses API's shape."""
    if isinstance(part, Text):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, Image):
        # NOTE: detail is required by the API's schema; "auto" is its documented default.
        image: Dict[str, Any] = {"type": "input_image", "detail": part.detail or "auto"}
        if part.file_id is not None:
            image["file_id"] = part.file_id
        else:
            image["image_url"] = part.url if part.url is not None else part.data_url()
        return image
    if isinstance(part, Document):
        refuse_citations(provider, part)
        if part.data is not None:
            return {"type": "input_file", "filename": file_name(part), "file_data": part.data_url()}
        if part.url is not None:
            return {"type": "input_file", "file_url": part.url}
        return {"type": "input_file", "file_id": part.file_id}
    raise unsupported(provider, part, "the Responses API takes no audio (openai does)")


def _input_items(message: Message, provider: str, stateless: bool) -> List[Dict[str, Any]]:
    kept = message.provider_data.get("openai-responses")
    if kept and isinstance(kept.get("output"), list):
        # NOTE: reasoning items (with their encrypted content) and server tool items go
        # back with the answer, or a reasoning model loses its reasoning between calls.
        return replay_items(kept["output"], stateless)
    content: Any = message.content
    if not isinstance(content, str):  # parts: a string, the hot path, takes this one test
        assistant = message.role == "assistant"
        content = text_only(provider, content, "an assistant message") if assistant else [
            input_part(provider, part) for part in content]
    if message.role == "tool":
        return [{"type": "function_call_output", "call_id": message.tool_call_id,
                 "output": content}]
    items: List[Dict[str, Any]] = []
    if content or not message.tool_calls:
        items.append({"role": message.role, "content": content})
    # NOTE: an assistant's tool calls are separate input items, not fields of its message.
    items.extend(
        {
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": call.raw_arguments,
        }
        for call in message.tool_calls
    )
    return items


def tool_schema(tool: Tool) -> Dict[str, Any]:
    # NOTE: Responses tools are flat: no nested "function" object as in Chat Completions.
    schema = {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    }
    return {**schema, "strict": True} if tool.strict else schema


def tool_choice(choice: Optional[str]) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "name": choice}


def build_request(request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
    provider = endpoint.provider
    instructions = [
        message_text(provider, m, "a system prompt")
        for m in request.messages if m.role == "system" and m.content
    ]
    items: List[Dict[str, Any]] = []
    # NOTE: with previous_response_id the server holds the earlier turns: send the rest.
    held = request.chained_messages if request.previous_response_id else 0
    for message in request.messages[held:]:
        if message.role != "system":
            items.extend(_input_items(message, provider, request.store is False))
    body: Dict[str, Any] = {
        "model": request.model,
        "input": items,
        # NOTE: the system prompt travels as top-level `instructions`, not as an input item.
        "instructions": "\n\n".join(instructions) or None,
        "stream": request.stream,
    }
    if request.tools:
        body["tools"] = [tool_schema(t) for t in request.tools]
        body["tool_choice"] = tool_choice(request.tool_choice)
    if request.builtin_tools:
        body.setdefault("tools", []).extend(builtin_tools.openai_responses(request, endpoint))
    if request.response_format is not None:
        fmt = request.response_format
        body["text"] = {
            "format": {
                "type": "json_schema",
                "name": fmt.name,
                "schema": fmt.json_schema,
                "strict": fmt.strict,
            }
        }
    body["max_output_tokens"] = request.max_tokens
    body["temperature"] = request.temperature
    effort = effort_for(request.thinking)
    if effort is not None:
        # NOTE: reasoning text is only streamed as a summary, and only when one is asked for.
        body["reasoning"] = {"effort": effort, "summary": "auto"}
    body.update(controls.openai_responses(request, endpoint))
    if request.store is False:
        # NOTE: nothing is stored, so reasoning can only come back to the next turn
        # encrypted inside its item, and only when asked for.
        body["include"] = [*body.get("include", ()), "reasoning.encrypted_content"]
    body = merge_extra(drop_none(body), request.extra_body)
    headers = auth_headers(
        endpoint,
        accept="text/event-stream" if request.stream else "application/json",
        request=request,
    )
    url = join_url(endpoint.base_url, "responses", request.query)
    return HttpRequest("POST", url, headers, body)
