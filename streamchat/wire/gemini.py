"""Google Gemini's native generateContent API (Google AI Studio keys).

Gemini streams whole `GenerateContentResponse` objects rather than deltas of one: every
chunk carries new parts, a running usage report and, on the last one, a finishReason.
Function calls arrive complete, so there are no argument fragments to assemble.

Streaming spec: https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
Thinking and thought signatures: https://ai.google.dev/gemini-api/docs/thinking and
https://ai.google.dev/gemini-api/docs/thought-signatures
Content parts: https://ai.google.dev/api/caching#Part (inlineData, fileData), with
https://ai.google.dev/gemini-api/docs/vision, .../document-processing and .../audio; tool
results with media: https://ai.google.dev/gemini-api/docs/function-calling#multimodal
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional

from ..errors import ContentFilterError
from ..types import (
    ChatRequest,
    DoneEvent,
    Event,
    FinishReason,
    HttpRequest,
    Message,
    Part,
    Text,
    ThinkingEvent,
    Tool,
    Usage,
    UsageEvent,
    text_event,
)
from . import builtin_tools, controls, logprobs
from .common import (
    Endpoint,
    FrameLike,
    auth_headers,
    drop_none,
    finish_reason,
    join_url,
    merge_extra,
    not_an_object,
    truncated,
    typed_body_errors,
    typed_errors,
    usage_from,
)
from .errors import error_from_payload
from .gemini_grounding import Grounding
from .gemini_schema import gemini_schema
from .parts import media_type_of, message_text, refuse_citations, text_only, unsupported
from .shapes import FrameJson
from .toolcalls import ToolCallAssembler

FRAMING = "sse"

FINISH_REASONS: Mapping[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    # NOTE: not Google's word (it says STOP after calls), but mock servers imitating
    # Gemini (aimock) end a call with it; it can only mean the model called a tool.
    "FUNCTION_CALL": "tool_calls",
}

_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}

# Gemini 2.x and older take a token budget; Gemini 3 takes a named thinking level and
# only accepts budgets for backwards compatibility.
_BUDGET_MODELS = re.compile(r"gemini-[12]\.")
_EFFORT_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

# The OpenAPI 3.0 subset Gemini's `Schema` object accepts; anything else is a 400.
def _declaration(tool: Tool) -> Dict[str, Any]:
    declaration: Dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    parameters = gemini_schema(tool.parameters)
    # NOTE: Gemini rejects an OBJECT with no properties; a tool without arguments omits them.
    if parameters.get("properties"):
        declaration["parameters"] = parameters
    return declaration


def _tool_config(request: ChatRequest) -> Optional[Dict[str, Any]]:
    choice = request.tool_choice
    if choice is not None and choice not in _TOOL_MODES:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice]}}
    mode = controls.gemini_calling_mode(request, _TOOL_MODES.get(choice or ""))
    return None if mode is None else {"functionCallingConfig": {"mode": mode}}


def _thinking_config(thinking: Any, model: str) -> Optional[Dict[str, Any]]:
    if thinking is None:
        return None
    if thinking is True:
        return {"includeThoughts": True}
    if thinking is False or thinking == 0:
        return {"thinkingBudget": 0}
    if isinstance(thinking, int):
        return {"includeThoughts": True, "thinkingBudget": thinking}
    if _BUDGET_MODELS.search(model):
        return {"includeThoughts": True, "thinkingBudget": _EFFORT_BUDGETS.get(thinking, 8192)}
    return {"includeThoughts": True, "thinkingLevel": thinking}


def _tool_response(content: str) -> Dict[str, Any]:
    """functionResponse.response must be an object: a JSON object result goes as is,
    anything else is wrapped."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"result": content}


def gemini_part(provider: str, part: Part) -> Dict[str, Any]:
    """One part in Gemini's shape: text, inline bytes, or a file by URI."""
    if isinstance(part, Text):
        return {"text": part.text}
    refuse_citations(provider, part)
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type, "data": part.base64}}
    # NOTE: a URL (a Files API URI, or a public URL) and a file id both go as fileUri.
    uri = part.url if part.url is not None else part.file_id
    return {"fileData": {"mimeType": media_type_of(provider, part), "fileUri": uri}}


def _function_response(provider: str, name: str, message: Message) -> Dict[str, Any]:
    if isinstance(message.content, str):
        return {"name": name, "response": _tool_response(message.content)}
    text = "\n\n".join(p.text for p in message.content if isinstance(p, Text))
    media = [p for p in message.content if not isinstance(p, Text)]
    for part in media:
        if part.data is None:
            raise unsupported(provider, part, "a tool result takes media only as data")
    # NOTE: Gemini 3 reads the images and documents a tool returned from `parts`.
    parts = {"parts": [gemini_part(provider, p) for p in media]} if media else {}
    return {"name": name, "response": _tool_response(text), **parts}


def _contents(provider: str, messages: List[Message]) -> List[Dict[str, Any]]:
    contents: List[Dict[str, Any]] = []
    # A tool message may not name its tool; the assistant message before it does.
    names: Dict[str, str] = {}
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant":
            names.update({call.id: call.name for call in message.tool_calls})
            text = message.content
            text = text if isinstance(text, str) else text_only(provider, text, "an answer")
            parts: List[Dict[str, Any]] = [{"text": text}] if text else []
            for call in message.tool_calls:
                part: Dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
                if call.signature:
                    # NOTE: Gemini 3 refuses a replayed function call without its signature.
                    part["thoughtSignature"] = call.signature
                parts.append(part)
            if parts:
                # NOTE: an empty text part is a 400; an empty turn (interrupted) is left out.
                contents.append({"role": "model", "parts": parts})
        elif message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "")
            part = {"functionResponse": _function_response(provider, name, message)}
            last = contents[-1] if contents else None
            if last is not None and all("functionResponse" in p for p in last["parts"]):
                # NOTE: the answers to parallel calls must share one turn, one part per call.
                last["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        else:
            content = message.content
            parts = [{"text": content}] if isinstance(content, str) else [
                gemini_part(provider, p) for p in content]
            contents.append({"role": "user", "parts": parts})
    return contents


def _model_path(model: str) -> str:
    return model if "/" in model else f"models/{model}"


def build_request(request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
    body: Dict[str, Any] = {"contents": _contents(endpoint.provider, request.messages)}
    system = [
        {"text": message_text(endpoint.provider, m, "a system prompt")}
        for m in request.messages if m.role == "system"
    ]
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in request.tools]}]
        tool_config = _tool_config(request)
        if tool_config is not None:
            body["toolConfig"] = tool_config
    if request.builtin_tools:
        # NOTE: each built-in tool is its own entry beside the function declarations.
        body.setdefault("tools", []).extend(builtin_tools.gemini(request, endpoint))
    generation = drop_none(
        {
            "maxOutputTokens": request.max_tokens,
            "temperature": request.temperature,
            "thinkingConfig": _thinking_config(request.thinking, request.model),
        }
    )
    if request.response_format is not None:
        generation["responseMimeType"] = "application/json"
        generation["responseSchema"] = gemini_schema(request.response_format.json_schema)
    sampling, top_level = controls.gemini(request, endpoint)
    generation.update(sampling)
    if generation:
        body["generationConfig"] = generation
    body.update(top_level)
    body = merge_extra(body, request.extra_body)
    # NOTE: without alt=sse the stream is one JSON array, not Server-Sent Events.
    method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
    url = join_url(endpoint.base_url, f"{_model_path(request.model)}:{method}", request.query)
    # NOTE: the key goes in a header, never in ?key=, which would leak into logs and errors.
    headers = auth_headers(
        endpoint,
        "x-goog-api-key",
        "",
        accept="text/event-stream" if request.stream else "application/json",
        request=request,
    )
    return HttpRequest("POST", url, headers, body)


def _usage(metadata: Any) -> Optional[Usage]:
    return usage_from(
        metadata,
        input="promptTokenCount",
        output="candidatesTokenCount",
        total="totalTokenCount",
        cached=("cachedContentTokenCount",),
        reasoning=("thoughtsTokenCount",),
        extra_input=("toolUsePromptTokenCount",),
        # NOTE: candidatesTokenCount leaves out thoughts, which are billed as output.
        extra_output=("thoughtsTokenCount",),
    )


class Decoder:
    """GenerateContentResponse chunks to events; one instance per response."""

    def __init__(self, provider: str, logprobs: bool = False) -> None:
        self._provider = provider
        self._json = FrameJson(provider)
        self._logprobs = logprobs
        self._calls = ToolCallAssembler()
        self._grounding = Grounding()
        self._usage: Optional[Usage] = None
        self._usage_report: Any = None
        self._response_id: Optional[str] = None
        self._model: Optional[str] = None
        self._done = False

    @typed_errors
    def feed(self, frame: FrameLike) -> List[Event]:
        if self._done:
            return []
        return self.feed_payload(self._json.load(frame.data))

    def feed_payload(self, payload: Any) -> List[Event]:
        """Events for one parsed response object, or an array of them."""
        if payload.__class__ is dict:
            return self._chunk(payload)
        # NOTE: Gemini can wrap a response, and an error, in a JSON array.
        events: List[Event] = []
        for chunk in payload if isinstance(payload, list) else ():
            if isinstance(chunk, dict) and not self._done:
                events.extend(self._chunk(chunk))
        return events

    def _chunk(self, chunk: Dict[str, Any]) -> List[Event]:
        if chunk.get("error"):
            # NOTE: a failure after the 200 arrives as a google.rpc error object in the stream.
            raise error_from_payload(self._provider, chunk)
        self._response_id = chunk.get("responseId") or self._response_id
        self._model = chunk.get("modelVersion") or self._model
        feedback = chunk.get("promptFeedback")
        block = feedback.get("blockReason") if feedback else None
        if block:
            raise ContentFilterError(
                f"{self._provider} refused the prompt ({block}); rephrase it or relax "
                "safetySettings through extra_body",
                provider=self._provider,
                body=chunk,
            )
        events: List[Event] = []
        candidate = _first_candidate(chunk)
        content = candidate.get("content")
        for part in (content.get("parts") if content else None) or ():
            if isinstance(part, dict):
                events.extend(self._part(part))
        if self._logprobs:
            events.extend(logprobs.gemini_event(candidate.get("logprobsResult")))
        if "groundingMetadata" in candidate or "urlContextMetadata" in candidate:
            events.extend(self._grounding.metadata(candidate))
        metadata = chunk.get("usageMetadata")
        # NOTE: every chunk repeats the running usage; a new report replaces the old one.
        # Comparing the raw report first keeps the unchanged repeats off the hot path.
        if metadata is not None and metadata != self._usage_report:
            self._usage_report = metadata
            usage = _usage(metadata)
            if usage is not None and usage != self._usage:
                self._usage = usage
                events.append(UsageEvent(usage=usage))
        reason = candidate.get("finishReason")
        if reason:
            events.append(self._end(reason))
        return events

    def _part(self, part: Dict[str, Any]) -> List[Event]:
        call = part.get("functionCall")
        if isinstance(call, dict):
            # NOTE: only the first of parallel calls carries the thoughtSignature.
            return self._calls.whole(
                call.get("id") or None,
                call.get("name") or "",
                call.get("args") or {},
                signature=part.get("thoughtSignature"),
            )
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return self._grounding.part(part)
        if part.get("thought") is True:
            return [ThinkingEvent(text=text)]
        self._grounding.text(text)
        return [text_event({"text": text})]

    def _end(self, reason: str) -> DoneEvent:
        self._done = True
        # NOTE: Gemini says STOP after function calls; there is no tool-use reason.
        normalised = finish_reason(FINISH_REASONS, reason, made_calls=bool(self._calls))
        return DoneEvent(
            finish_reason=normalised,
            usage=self._usage,
            provider_finish_reason=reason,
            response_id=self._response_id,
            model=self._model,
        )

    @typed_errors
    def close(self) -> List[Event]:
        if not self._done:
            raise truncated(self._provider, "a candidate with a finishReason")
        return []


def _first_candidate(chunk: Dict[str, Any]) -> Dict[str, Any]:
    for candidate in chunk.get("candidates") or ():
        if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
            return candidate
    return {}


def new_decoder(provider: str, logprobs: bool = False) -> Decoder:
    return Decoder(provider, logprobs)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete generateContent response (or a streamed JSON array)."""
    if not isinstance(body, (dict, list)):
        raise not_an_object(provider, body)
    decoder = Decoder(provider, logprobs=True)
    return decoder.feed_payload(body) + decoder.close()
