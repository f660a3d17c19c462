"""Built-in tools (`WebSearch`, `CodeExecution`, `UrlContext`) in each wire's own shape, or
a ConfigurationError naming the provider and the tool before anything is sent.

Anthropic: https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool,
  .../code-execution-tool, .../web-fetch-tool
Responses: https://platform.openai.com/docs/guides/tools-web-search,
  https://platform.openai.com/docs/guides/tools-code-interpreter
Chat Completions: https://platform.openai.com/docs/guides/tools-web-search?api-mode=chat
Gemini: https://ai.google.dev/gemini-api/docs/google-search, .../code-execution,
  .../url-context
"""

from __future__ import annotations

from typing import Any, Dict, List, Set

from ..errors import ConfigurationError
from ..types import BuiltinTool, ChatRequest, CodeExecution, UrlContext, WebSearch
from .common import Endpoint

ANTHROPIC_BETAS = {
    "code_execution": "code-execution-2025-08-25",
    "web_fetch": "web-fetch-2025-09-10",
}
"""The beta each versioned Anthropic tool needs declared (web search is generally available)."""


def _refuse(
    endpoint: Endpoint, tool: BuiltinTool, wire: str, instead: str = ""
) -> ConfigurationError:
    return ConfigurationError(
        f"{endpoint.provider} ({wire}) has no built-in {tool.type} tool{instead}; "
        "remove it from tools=, or use a provider that offers it",
        provider=endpoint.provider,
    )


def _no_search_options(endpoint: Endpoint, tool: WebSearch, wire: str, *names: str) -> None:
    given = [name for name in names if getattr(tool, name) is not None]
    if given:
        raise ConfigurationError(
            f"{endpoint.provider} ({wire}) cannot limit its web search by "
            f"{' or '.join(given)}; leave {', '.join(given)} unset for it",
            provider=endpoint.provider,
        )


def anthropic(request: ChatRequest, endpoint: Endpoint, betas: Set[str]) -> List[Dict[str, Any]]:
    """Server tool definitions; the betas they need are added to `betas`."""
    tools: List[Dict[str, Any]] = []
    for tool in request.builtin_tools:
        if isinstance(tool, WebSearch):
            spec: Dict[str, Any] = {"type": "web_search_20250305", "name": "web_search"}
            if tool.max_uses is not None:
                spec["max_uses"] = tool.max_uses
            if tool.allowed_domains is not None:
                spec["allowed_domains"] = list(tool.allowed_domains)
        elif isinstance(tool, CodeExecution):
            spec = {"type": "code_execution_20250825", "name": "code_execution"}
        else:
            spec = {"type": "web_fetch_20250910", "name": "web_fetch"}
        beta = ANTHROPIC_BETAS.get(spec["name"])
        if beta:
            betas.add(beta)
        tools.append(spec)
    return tools


def openai_responses(request: ChatRequest, endpoint: Endpoint) -> List[Dict[str, Any]]:
    tools: List[Dict[str, Any]] = []
    for tool in request.builtin_tools:
        if isinstance(tool, WebSearch):
            _no_search_options(endpoint, tool, "Responses API", "max_uses")
            spec: Dict[str, Any] = {"type": "web_search"}
            if tool.allowed_domains is not None:
                spec["filters"] = {"allowed_domains": list(tool.allowed_domains)}
        elif isinstance(tool, CodeExecution):
            spec = {"type": "code_interpreter", "container": {"type": "auto"}}
        else:
            raise _refuse(endpoint, tool, "Responses API", " (its web search opens pages)")
        tools.append(spec)
    return tools


def openai_chat(request: ChatRequest, endpoint: Endpoint) -> Dict[str, Any]:
    """Top-level fields: search models take `web_search_options`; nothing else exists."""
    fields: Dict[str, Any] = {}
    for tool in request.builtin_tools:
        if not isinstance(tool, WebSearch):
            raise _refuse(endpoint, tool, "Chat Completions", " (the Responses API has some)")
        _no_search_options(endpoint, tool, "Chat Completions", "max_uses", "allowed_domains")
        fields["web_search_options"] = {}
    return fields


def gemini(request: ChatRequest, endpoint: Endpoint) -> List[Dict[str, Any]]:
    tools: List[Dict[str, Any]] = []
    for tool in request.builtin_tools:
        if isinstance(tool, WebSearch):
            _no_search_options(endpoint, tool, "Gemini", "max_uses", "allowed_domains")
            tools.append({"googleSearch": {}})
        elif isinstance(tool, CodeExecution):
            tools.append({"codeExecution": {}})
        elif isinstance(tool, UrlContext):
            tools.append({"urlContext": {}})
    return tools


def none(request: ChatRequest, endpoint: Endpoint, wire: str) -> None:
    """Wires without built-in tools refuse any."""
    for tool in request.builtin_tools:
        raise _refuse(endpoint, tool, wire)
