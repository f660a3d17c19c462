"""OpenAI Chat Completions, and every OpenAI-compatible server (xAI, Groq, OpenRouter,
DeepSeek, vLLM, llama.cpp, LM Studio, ...), which differ only in data held by presets.

Streaming spec: https://platform.openai.com/docs/api-reference/chat-streaming
Content parts: https://platform.openai.com/docs/guides/images-vision (image_url),
https://platform.openai.com/docs/guides/pdf-files (file), https://platform.openai.com/docs/guides/audio
(input_audio)
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set
from urllib.parse import quote

from ..types import (
    Audio,
    ChatRequest,
    Document,
    DoneEvent,
    Event,
    FinishReason,
    HttpRequest,
    Image,
    Message,
    Part,
    RefusalEvent,
    Text,
    ThinkingEvent,
    Tool,
    UsageEvent,
    text_event,
)
from . import builtin_tools, controls, logprobs
from .chat_reasoning import GatewayReasoning, content_parts
from .citations import citation_event
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
from .parts import audio_format, file_name, refuse_citations, text_only, unsupported
from .shapes import FrameJson
from .think import ThinkTagSplitter
from .toolcalls import ToolCallAssembler

FRAMING = "sse"

FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}

_EFFORT_FOR_BUDGET = ((1024, "low"), (8192, "medium"))


def effort_for(thinking: Any) -> Optional[str]:
    """The reasoning effort word for any form of ChatRequest.thinking."""
    if thinking is None or thinking is False:
        return None
    if thinking is True:
        return "medium"
    if isinstance(thinking, int):
        return next((e for limit, e in _EFFORT_FOR_BUDGET if thinking <= limit), "high")
    return str(thinking)


_TEXT_ONLY = {
    "system": "a system prompt",
    "assistant": "an assistant message",
    "tool": "a Chat Completions tool result (openai-responses and anthropic take images there)",
}


def content_part(provider: str, part: Part) -> Dict[str, Any]:
    """One part of a user message in Chat Completions' shape."""
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Image):
        if part.file_id is not None:
            raise unsupported(provider, part, "Chat Completions takes images by URL or as "
                              "data, not by file id (openai-responses does)")
        image: Dict[str, Any] = {"url": part.url if part.url is not None else part.data_url()}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, Document):
        refuse_citations(provider, part)
        if part.file_id is not None:
            return {"type": "file", "file": {"file_id": part.file_id}}
        if part.url is not None:
            raise unsupported(provider, part, "Chat Completions takes no file URLs: pass the "
                              "bytes, or use openai-responses")
        if part.media_type != "application/pdf":
            raise unsupported(provider, part, "Chat Completions takes PDF files only: send "
                              "the text as a Text part, or use openai-responses")
        # NOTE: file_data is a data URL, and a file sent as data needs a file name.
        return {"type": "file", "file": {"filename": file_name(part),
                                         "file_data": part.data_url()}}
    if not isinstance(part, Audio) or part.data is None:
        raise unsupported(provider, part, "Chat Completions takes audio only as data")
    return {"type": "input_audio",
            "input_audio": {"data": part.base64, "format": audio_format(provider, part)}}


def _parts(role: str, parts: List[Part], provider: str) -> Any:
    if role == "user":
        return [content_part(provider, part) for part in parts]
    return text_only(provider, parts, _TEXT_ONLY[role])


def _message(message: Message, provider: str) -> Dict[str, Any]:
    content: Any = message.content
    if not isinstance(content, str):  # parts: a string, the hot path, takes this one test
        content = _parts(message.role, content, provider)
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": content}
    out: Dict[str, Any] = {"role": message.role, "content": content}
    if message.tool_calls:
        out["content"] = content or None
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw_arguments},
            }
            for call in message.tool_calls
        ]
    kept = message.provider_data.get("openai")
    if kept and kept.get("provider") == provider and isinstance(kept.get("message"), dict):
        # NOTE: a gateway's thinking_blocks / reasoning_details go back as they came (the
        # model behind it, Claude, rejects a tool turn whose signed thinking is missing),
        # but only to that gateway: another service would refuse the unknown field.
        out.update(kept["message"])
    return out


def tool_schema(tool: Tool) -> Dict[str, Any]:
    function: Dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    }
    if tool.strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def tool_choice(choice: Optional[str]) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def build_request(request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
    options = endpoint.options
    provider = endpoint.provider
    body: Dict[str, Any] = {
        "model": request.model,
        "messages": [_message(m, provider) for m in request.messages],
        "stream": request.stream,
    }
    if request.stream and options.get("stream_options", True):
        body["stream_options"] = {"include_usage": True}
    if request.tools:
        body["tools"] = [tool_schema(t) for t in request.tools]
        body["tool_choice"] = tool_choice(request.tool_choice)
    body.update(builtin_tools.openai_chat(request, endpoint))
    if request.response_format is not None:
        fmt = request.response_format
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
        }
    if request.max_tokens is not None:
        body[options.get("max_tokens_field", "max_completion_tokens")] = request.max_tokens
    body["temperature"] = request.temperature
    body["reasoning_effort"] = effort_for(request.thinking)
    body.update(controls.openai_chat(request, endpoint))
    body = merge_extra(drop_none(body), request.extra_body)
    accept = "text/event-stream" if request.stream else "application/json"
    path = "chat/completions"
    if options.get("deployment_path"):
        # NOTE: Azure's dated API names the deployment (our model) in the path.
        path = f"deployments/{quote(request.model, safe='')}/chat/completions"
    return HttpRequest(
        "POST",
        join_url(endpoint.base_url, path, request.query),
        auth_headers(endpoint, accept=accept, request=request),
        body,
    )


class Decoder:
    """Chat Completions chunks to events; one instance per response."""

    def __init__(self, provider: str, logprobs: bool = False) -> None:
        self._provider = provider
        self._json = FrameJson(provider)
        self._logprobs = logprobs
        """Read choices' logprobs only when they were asked for: a stream that did not
        ask pays nothing per chunk for them."""
        self._calls = ToolCallAssembler()
        self._think = ThinkTagSplitter()
        self._index_keys: Dict[Any, int] = {}
        self._index_keys_seen: List[int] = []
        self._last_key: Optional[int] = None
        self._finish: Optional[str] = None
        self._usage_seen: Any = None
        self._response_id: Optional[str] = None
        self._model: Optional[str] = None
        self._reasoning = GatewayReasoning()
        self._cited: Set[str] = set()
        self._refused = False
        self._done = False

    @typed_errors
    def feed(self, frame: FrameLike) -> List[Event]:
        if self._done:
            return []
        data = frame.data
        if data == "[DONE]":
            # NOTE: [DONE] is the terminal marker; the HTTP body may stay open after it.
            return self.end()
        chunk = self._json.load(data)
        return self.feed_chunk(chunk) if isinstance(chunk, dict) else []

    def feed_chunk(self, chunk: Dict[str, Any]) -> List[Event]:
        """Events for one parsed chunk object."""
        self._response_id = self._response_id or chunk.get("id")
        self._model = chunk.get("model") or self._model
        if chunk.get("error"):
            # NOTE: OpenAI-compatible servers report failures after a 200 as an error chunk;
            # OpenRouter's also names the served model and carries the usage so far.
            error = error_from_payload(self._provider, chunk)
            error.reported = self._usage(chunk, model=self._model)
            raise error
        events: List[Event] = []
        for choice in chunk.get("choices") or ():
            if choice.__class__ is dict and choice.get("index", 0) == 0:
                self._choice(choice, events)
        if "citations" in chunk:
            # NOTE: Perplexity lists its sources beside the choices, again in every chunk.
            events.extend(self._sources(chunk.get("citations"), chunk.get("search_results")))
        if chunk.get("usage") or "x_groq" in chunk:
            events.extend(self._usage(chunk))
        return events

    def _usage(self, chunk: Dict[str, Any], model: Optional[str] = None) -> List[Event]:
        usage = chunk.get("usage")
        if usage is None and "x_groq" in chunk:
            usage = (chunk["x_groq"] or {}).get("usage")
        if not usage:
            return []
        # NOTE: with include_usage the usage arrives in a last chunk with empty choices.
        self._usage_seen = usage_from(
            usage,
            input="prompt_tokens",
            output="completion_tokens",
            total="total_tokens",
            cached=(("prompt_tokens_details", "cached_tokens"), "prompt_cache_hit_tokens"),
            reasoning=(("completion_tokens_details", "reasoning_tokens"),),
        )
        if self._usage_seen is None:
            return []
        cost = usage.get("cost")
        if cost.__class__ in (int, float) and 0 <= cost < float("inf"):
            # NOTE: LiteLLM's proxy and OpenRouter report what the call cost them in
            # usage.cost (USD; OpenRouter's credits are dollars): that figure is kept.
            self._usage_seen = self._usage_seen.model_copy(update={"cost_usd": float(cost)})
        return [UsageEvent(usage=self._usage_seen, model=model)]

    def _choice(self, choice: Dict[str, Any], events: List[Event]) -> None:
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if len(delta) == 1 and content.__class__ is str and self._think.passing:
            # The hot path, nearly every chunk of an answer: a delta of visible text alone.
            if content:
                events.append(text_event({"text": content}))
        else:
            self._delta(delta, content, events)
        if self._logprobs:
            found = choice.get("logprobs")
            if found.__class__ is dict:
                events.extend(logprobs.openai_event(found.get("content")))
        reason = choice.get("finish_reason")
        if reason:
            self._finish = reason
            events.extend(self._think.close())
            events.extend(self._calls.finish_all())

    def _delta(self, delta: Dict[str, Any], content: Any, events: List[Event]) -> None:
        # NOTE: DeepSeek names reasoning `reasoning_content`; OpenRouter and Groq `reasoning`.
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ThinkingEvent(text=reasoning))
        shown = isinstance(reasoning, str) and bool(reasoning)
        if "thinking_blocks" in delta:
            events.extend(self._reasoning.thinking_blocks(delta["thinking_blocks"], shown))
        if "reasoning_details" in delta:
            events.extend(self._reasoning.reasoning_details(delta["reasoning_details"], shown))
        if isinstance(content, str) and content:
            events.extend(self._think.feed(content))
        elif isinstance(content, list):
            events.extend(content_parts(content))
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._refused = True
            events.append(RefusalEvent(text=refusal))
        for note in delta.get("annotations") or ():
            if isinstance(note, dict) and isinstance(note.get("url_citation"), dict):
                # NOTE: offsets index the message content, which is the answer text.
                cited = note["url_citation"]
                events.append(
                    citation_event(
                        url=cited.get("url"), title=cited.get("title"),
                        start=cited.get("start_index"), end=cited.get("end_index"),
                        source=note.get("type"),
                    )
                )
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                events.extend(self._tool_fragment(call))

    def _sources(self, urls: Any, results: Any) -> List[Event]:
        titles = {
            r.get("url"): r.get("title") for r in results or () if isinstance(r, dict)
        } if isinstance(results, list) else {}
        events: List[Event] = []
        for url in urls if isinstance(urls, list) else ():
            if isinstance(url, str) and url not in self._cited:
                self._cited.add(url)
                events.append(citation_event(url=url, title=titles.get(url), source="citations"))
        return events

    def _tool_fragment(self, call: Dict[str, Any]) -> List[Event]:
        function = call.get("function") or {}
        call_id = call.get("id") or None
        name = function.get("name") or ""
        arguments = function.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        index = call.get("index")
        key = self._index_keys.get(index) if index is not None else self._last_key
        # A fragment opens a new call when it carries an id we are not assembling: some
        # servers omit `index`, and some send every parallel call as index 0, so trusting
        # the index alone would merge two calls into one.
        if key is None or (call_id is not None and call_id != self._calls.id_of(key)):
            key = len(self._index_keys_seen)
            self._index_keys_seen.append(key)
            self._index_keys[index] = key
            self._last_key = key
            return self._calls.start(key, call_id, name, arguments)
        self._last_key = key
        self._calls.set_name(key, name)
        return self._calls.delta(key, arguments)

    def end(self) -> List[Event]:
        """Finish the response: flush held text, complete calls, emit done."""
        self._done = True
        events: List[Event] = self._think.close()
        events.extend(self._calls.finish_all())
        reason = self._finish
        normalised = finish_reason(
            FINISH_REASONS, reason, made_calls=reason is None and bool(self._calls)
        )
        if self._refused and normalised == "stop":
            # NOTE: a refusal ends with finish_reason "stop"; the refusal field tells it apart.
            normalised = "refusal"
        events.append(
            DoneEvent(
                finish_reason=normalised,
                usage=self._usage_seen,
                provider_finish_reason=reason,
                response_id=self._response_id,
                model=self._model,
                provider_data=self._reasoning.provider_data(self._provider),
            )
        )
        return events

    @typed_errors
    def close(self) -> List[Event]:
        if self._done:
            return []
        if self._finish is None:
            raise truncated(self._provider, "its finish_reason and [DONE]")
        # Some compatible servers end the body after finish_reason without sending [DONE].
        return self.end()


def new_decoder(provider: str, logprobs: bool = False) -> Decoder:
    return Decoder(provider, logprobs)


@typed_body_errors
def decode_body(body: Any, provider: str) -> List[Event]:
    """Events for a complete, non-streamed chat.completion object."""
    if not isinstance(body, dict):
        raise not_an_object(provider, body)
    # A whole body carries logprobs only when they were asked for.
    decoder = Decoder(provider, logprobs=True)
    choices = []
    for choice in body.get("choices") or ():
        message = dict(choice.get("message") or {})
        message["tool_calls"] = [
            dict(call, index=i) for i, call in enumerate(message.get("tool_calls") or ())
        ]
        choices.append(
            {"index": choice.get("index", 0), "delta": message,
             "logprobs": choice.get("logprobs"),
             "finish_reason": choice.get("finish_reason") or "stop"}
        )
    return decoder.feed_chunk(dict(body, choices=choices)) + decoder.end()
