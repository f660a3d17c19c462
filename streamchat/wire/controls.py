"""The request controls (stop, top_p, top_k, seed, penalties, parallel tool calls,
logprobs, service tier, metadata, store, previous_response_id) in each provider's own
fields: the "Request options" table of docs/request-options.rst, in code, in one place.

A control a provider has no field for is refused with a ConfigurationError before
anything is sent, never silently dropped. Each function cites the reference it follows.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

from ..errors import ConfigurationError
from ..types import ChatRequest
from .common import Endpoint, drop_none


def is_set(request: ChatRequest, name: str) -> bool:
    """Whether the caller asked for a control (`name` is a ChatRequest field, or
    `strict` for any strict tool)."""
    if name == "strict":
        return any(tool.strict for tool in request.tools)
    value = getattr(request, name)
    if name == "parallel_tool_calls":
        # Several calls at once is every provider's default; only "no" needs a field.
        return value is False
    if name == "previous_response_id":
        # A Chat that chains also holds the whole history: a wire that cannot chain
        # sends it all instead, which is the same conversation.
        return value is not None and not request.chained_messages
    return value is not None and value is not False and value != [] and value != {}


def refuse(request: ChatRequest, endpoint: Endpoint, names: Iterable[str], api: str) -> None:
    """ConfigurationError for the first control in `names` (or in the preset's own
    `unsupported` list) that the request sets."""
    for name in (*names, *endpoint.options.get("unsupported", ())):
        if is_set(request, name):
            what = "Tool(strict=True)" if name == "strict" else f"{name}="
            raise ConfigurationError(
                f"{endpoint.provider} ({api}) has no equivalent of {what}; leave it unset "
                "for this provider, or send the provider's own field with extra_body={...}",
                provider=endpoint.provider,
            )


def openai_chat(request: ChatRequest, endpoint: Endpoint) -> Dict[str, Any]:
    """Chat Completions: https://platform.openai.com/docs/api-reference/chat/create"""
    refuse(request, endpoint, ("previous_response_id",), "Chat Completions")
    body: Dict[str, Any] = {
        "stop": request.stop or None,
        "top_p": request.top_p,
        # NOTE: top_k is not OpenAI's; vLLM, llama.cpp, LM Studio and OpenRouter take it,
        # and the presets of servers that do not list it in `unsupported`.
        "top_k": request.top_k,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        # NOTE: OpenAI refuses parallel_tool_calls in a request without tools.
        "parallel_tool_calls": request.parallel_tool_calls if request.tools else None,
        "service_tier": request.service_tier,
        "metadata": request.metadata or None,
        "store": request.store,
    }
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = request.top_logprobs
    return drop_none(body)


RESPONSES_UNSUPPORTED = ("stop", "top_k", "seed", "presence_penalty", "frequency_penalty")


def openai_responses(request: ChatRequest, endpoint: Endpoint) -> Dict[str, Any]:
    """Responses API: https://platform.openai.com/docs/api-reference/responses/create"""
    refuse(request, endpoint, RESPONSES_UNSUPPORTED, "Responses API")
    body: Dict[str, Any] = {
        "top_p": request.top_p,
        "parallel_tool_calls": request.parallel_tool_calls if request.tools else None,
        "service_tier": request.service_tier,
        "metadata": request.metadata or None,
        "store": request.store,
        "previous_response_id": request.previous_response_id,
    }
    if request.logprobs:
        # NOTE: log probabilities come only when the output text is asked to include them.
        body["include"] = ["message.output_text.logprobs"]
        body["top_logprobs"] = request.top_logprobs
    return drop_none(body)


ANTHROPIC_UNSUPPORTED = (
    "seed", "presence_penalty", "frequency_penalty", "logprobs", "previous_response_id", "store"
)


def anthropic(
    request: ChatRequest, endpoint: Endpoint, tool_choice: Optional[Dict[str, Any]]
) -> Dict[str, Any]:
    """Messages API: https://docs.anthropic.com/en/api/messages (and `tool_choice`
    returned with `disable_parallel_tool_use` when parallel_tool_calls is set)."""
    refuse(request, endpoint, ANTHROPIC_UNSUPPORTED, "Messages API")
    extra = set(request.metadata) - {"user_id"}
    if extra:
        raise ConfigurationError(
            f"{endpoint.provider} (Messages API) takes only metadata={{'user_id': ...}}, "
            f"not {sorted(extra)}",
            provider=endpoint.provider,
        )
    body: Dict[str, Any] = {
        "stop_sequences": request.stop or None,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "service_tier": request.service_tier,
        "metadata": request.metadata or None,
    }
    if request.parallel_tool_calls is not None and request.tools:
        choice = dict(tool_choice or {"type": "auto"})
        if choice.get("type") != "none":
            # NOTE: parallel use is switched off through the tool choice, not a field of its own.
            choice["disable_parallel_tool_use"] = not request.parallel_tool_calls
            body["tool_choice"] = choice
    return drop_none(body)


GEMINI_UNSUPPORTED = ("previous_response_id", "store", "parallel_tool_calls")


def gemini(
    request: ChatRequest, endpoint: Endpoint
) -> tuple[Dict[str, Any], Dict[str, Any]]:
    """generationConfig fields and top-level fields for Gemini and Vertex AI:
    https://ai.google.dev/api/generate-content#generationconfig"""
    vertex = bool(endpoint.options.get("vertex"))
    refuse(request, endpoint, GEMINI_UNSUPPORTED, "Vertex AI" if vertex else "Gemini API")
    if request.metadata and not vertex:
        raise ConfigurationError(
            f"{endpoint.provider} (Gemini API) has no request metadata; Vertex AI takes it "
            "as billing labels (provider 'vertex')",
            provider=endpoint.provider,
        )
    generation = {
        "stopSequences": request.stop or None,
        "topP": request.top_p,
        "topK": request.top_k,
        "seed": request.seed,
        "presencePenalty": request.presence_penalty,
        "frequencyPenalty": request.frequency_penalty,
    }
    if request.logprobs:
        generation["responseLogprobs"] = True
        generation["logprobs"] = request.top_logprobs
    top = {
        "serviceTier": request.service_tier,
        # NOTE: Vertex keeps request metadata as labels that break down billed charges.
        "labels": request.metadata or None,
    }
    return drop_none(generation), drop_none(top)


def gemini_calling_mode(request: ChatRequest, mode: Optional[str]) -> Optional[str]:
    """Strict tools: VALIDATED keeps any call to its schema and still allows text; ANY
    (required, or a named tool) already does. https://ai.google.dev/gemini-api/docs/function-calling"""
    if is_set(request, "strict") and mode in (None, "AUTO"):
        return "VALIDATED"
    return mode


OLLAMA_UNSUPPORTED = (
    "previous_response_id", "store", "service_tier", "metadata", "strict", "parallel_tool_calls"
)


def ollama(
    request: ChatRequest, endpoint: Endpoint
) -> tuple[Dict[str, Any], Dict[str, Any]]:
    """`options` fields and top-level fields of /api/chat:
    https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion"""
    refuse(request, endpoint, OLLAMA_UNSUPPORTED, "Ollama")
    options = {
        "stop": request.stop or None,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
    }
    top: Dict[str, Any] = {}
    if request.logprobs:
        top = drop_none({"logprobs": True, "top_logprobs": request.top_logprobs})
    return drop_none(options), top


def with_options(body: Dict[str, Any], key: str, values: Mapping[str, Any]) -> None:
    """Merge `values` into the object at body[key], creating it when there are any."""
    if values:
        body[key] = {**body.get(key, {}), **values}
