"""The two JSON calls beside a stream, per wire: listing the provider's models and counting
a prompt's input tokens. Pure, like the rest of the wire layer: requests out, answers read.

Model lists: https://platform.openai.com/docs/api-reference/models/list,
https://docs.anthropic.com/en/api/models-list, https://ai.google.dev/api/models#method:-models.list,
https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list,
https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models.
Token counts: https://docs.anthropic.com/en/api/messages-count-tokens,
https://ai.google.dev/api/tokens#method:-models.counttokens,
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/countTokens,
https://platform.openai.com/docs/api-reference/responses/input-tokens.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from ..errors import ConfigurationError, ProtocolError
from ..types import ChatRequest, HttpRequest
from .common import Endpoint, WireFormat, auth_headers, join_url

PAGE_SIZE = 1000

ModelPage = Tuple[List[str], List[Dict[str, Any]], Optional[str]]
"""A page of a model list: the ids, the raw entries, and the token of the next page."""

_RESPONSES_COUNT_FIELDS = ("model", "input", "instructions", "tools", "tool_choice",
                           "parallel_tool_calls", "previous_response_id", "reasoning", "text",
                           "truncation", "conversation")
_ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking",
                           "mcp_servers", "output_config")
_GEMINI_COUNT_FIELDS = ("contents", "systemInstruction", "tools", "toolConfig",
                        "generationConfig")


def models_request(wire: str, endpoint: Endpoint, page: Optional[str] = None) -> HttpRequest:
    """GET the provider's model list (the page after `page`, when it pages)."""
    query: Dict[str, str] = {}
    if wire == "anthropic":
        query["limit"] = str(PAGE_SIZE)
        if page:
            query["after_id"] = page
        headers = auth_headers(endpoint, "x-api-key", "", accept="application/json")
        headers["anthropic-version"] = "2023-06-01"
        return HttpRequest("GET", join_url(endpoint.base_url, "models", query), headers)
    if wire == "gemini":
        query["pageSize"] = str(PAGE_SIZE)
        if page:
            query["pageToken"] = page
        headers = auth_headers(endpoint, "x-goog-api-key", "", accept="application/json")
        # NOTE: Vertex lists publisher models at a path of its own, outside the project.
        listing = endpoint.options.get("models_url")
        url = f"{listing}?{urlencode(query)}" if listing else join_url(
            endpoint.base_url, "models", query)
        return HttpRequest("GET", url, headers)
    path = "api/tags" if wire == "ollama" else "models"
    headers = auth_headers(endpoint, accept="application/json")
    return HttpRequest("GET", join_url(endpoint.base_url, path), headers)


def read_models(wire: str, body: Any, provider: str) -> ModelPage:
    """The ids (as `model=` takes them), the raw entries and the next page's token."""
    if not isinstance(body, dict):
        raise ProtocolError(f"{provider} answered the model list with {body!r:.200}",
                            provider=provider)
    prefixes: Tuple[str, ...] = ()
    if wire == "gemini":
        entries = body.get("models") or body.get("publisherModels") or []
        key, prefixes = "name", ("publishers/google/models/", "models/")
    elif wire == "ollama":
        entries, key = body.get("models") or [], "name"
    else:
        entries, key = body.get("data") or [], "id"
    entries = [e for e in entries if isinstance(e, dict) and isinstance(e.get(key), str)]
    ids = [_without(e[key], prefixes) for e in entries]
    following: Optional[str] = None
    if wire == "anthropic" and body.get("has_more") and entries:
        following = str(body.get("last_id") or entries[-1]["id"])
    elif wire == "gemini" and body.get("nextPageToken"):
        following = str(body["nextPageToken"])
    return ids, entries, following


def _without(name: str, prefixes: Tuple[str, ...]) -> str:
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def count_request(
    wire: str, module: WireFormat, request: ChatRequest, endpoint: Endpoint
) -> HttpRequest:
    """POST the prompt to the provider's token counter: the body the wire would send,
    cut to the fields the counter takes; ConfigurationError where there is none."""
    if wire not in ("anthropic", "gemini", "openai-responses"):
        raise ConfigurationError(
            f"{endpoint.provider} has no token counting endpoint; Anthropic, Gemini, Vertex "
            "AI and the OpenAI Responses API (openai-responses, azure-responses) have one",
            provider=endpoint.provider,
        )
    whole = request.model_copy(update={"stream": False})
    built = module.build_request(whole, endpoint)
    body = dict(built.json or {})
    headers = {**built.headers, "Accept": "application/json"}
    if wire == "anthropic":
        counted = {k: body[k] for k in _ANTHROPIC_COUNT_FIELDS if k in body}
        url = join_url(endpoint.base_url, "messages/count_tokens", request.query)
    elif wire == "openai-responses":
        counted = {k: body[k] for k in _RESPONSES_COUNT_FIELDS if k in body}
        url = join_url(endpoint.base_url, "responses/input_tokens", request.query)
    else:
        counted = {k: body[k] for k in _GEMINI_COUNT_FIELDS if k in body}
        model = request.model if "/" in request.model else f"models/{request.model}"
        if not endpoint.options.get("vertex"):
            # NOTE: the Gemini API counts system instructions and tools only inside a
            # whole generateContentRequest; Vertex takes them at the top level.
            counted = {"generateContentRequest": {"model": model, **counted}}
        url = join_url(endpoint.base_url, f"{model}:countTokens", request.query)
    return HttpRequest("POST", url, headers, counted)


def read_count(wire: str, body: Any, provider: str) -> int:
    """The input token count of a counter's answer."""
    field = "totalTokens" if wire == "gemini" else "input_tokens"
    value = body.get(field) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{provider} answered the token count without {field}: "
                            f"{body!r:.200}", provider=provider)
    return value
