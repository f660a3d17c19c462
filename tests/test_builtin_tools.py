"""Built-in tools go in tools=[...] beside functions; each wire sends its own shape or
refuses before sending. Cache breakpoints on tools and system text count toward
Anthropic's four."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List

import pytest
from helpers import fake_client

import streamchat
from streamchat import CodeExecution, UrlContext, WebSearch
from streamchat.testing import FakeServer
from streamchat.types import ChatRequest, Message, Text, Tool
from streamchat.wire import anthropic, gemini, ollama, openai_chat, openai_responses
from streamchat.wire.common import Endpoint

WEATHER = Tool(name="get_weather", parameters={"type": "object", "properties": {}})


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def build(module: Any, builtin: List[Any], **fields: Any) -> Any:
    request = ChatRequest(model="m", messages=[Message.user("hi")], builtin_tools=builtin,
                          **fields)
    return module.build_request(request, Endpoint(provider="p", base_url="http://x"))


def test_anthropic_server_tools_and_their_betas() -> None:
    built = build(anthropic, [WebSearch(max_uses=3, allowed_domains=["python.org"]),
                              CodeExecution(), UrlContext()], tools=[WEATHER])
    assert built.json["tools"] == [
        {"name": "get_weather", "input_schema": WEATHER.parameters},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
         "allowed_domains": ["python.org"]},
        {"type": "code_execution_20250825", "name": "code_execution"},
        {"type": "web_fetch_20250910", "name": "web_fetch"},
    ]
    assert built.headers["anthropic-beta"] == "code-execution-2025-08-25,web-fetch-2025-09-10"


def test_anthropic_web_search_alone_needs_no_beta() -> None:
    built = build(anthropic, [WebSearch()])
    assert built.json["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]
    assert "anthropic-beta" not in built.headers


def test_responses_tools() -> None:
    built = build(openai_responses, [WebSearch(allowed_domains=["python.org"]), CodeExecution()])
    assert built.json["tools"] == [
        {"type": "web_search", "filters": {"allowed_domains": ["python.org"]}},
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ]


def test_gemini_tools_sit_beside_function_declarations() -> None:
    built = build(gemini, [WebSearch(), CodeExecution(), UrlContext()], tools=[WEATHER])
    assert built.json["tools"] == [
        {"functionDeclarations": [{"name": "get_weather"}]},
        {"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}},
    ]


def test_chat_completions_search_models_take_web_search_options() -> None:
    assert build(openai_chat, [WebSearch()]).json["web_search_options"] == {}


@pytest.mark.parametrize(
    ("module", "tool", "words"),
    [
        (openai_chat, CodeExecution(), "code_execution"),
        (openai_chat, WebSearch(allowed_domains=["a.com"]), "allowed_domains"),
        (openai_responses, UrlContext(), "url_context"),
        (openai_responses, WebSearch(max_uses=2), "max_uses"),
        (gemini, WebSearch(max_uses=2), "max_uses"),
        (ollama, WebSearch(), "web_search"),
    ],
)
def test_what_a_wire_cannot_do_is_refused_before_sending(module: Any, tool: Any,
                                                         words: str) -> None:
    with pytest.raises(streamchat.ConfigurationError, match=words) as info:
        build(module, [tool])
    assert "p (" in str(info.value)


def test_client_and_chat_run_pass_built_in_tools_through(server: FakeServer) -> None:
    server.enqueue(text="Found it.")
    client = fake_client(server, "anthropic")
    chat = streamchat.Chat(client)

    def get_weather(city: str) -> str:
        return "sunny"

    final = chat.run("news?", tools=[get_weather, WebSearch()]).final()
    assert final.text == "Found it."
    sent: Dict[str, Any] = server.requests[0].json
    assert [t.get("name") for t in sent["tools"]] == ["get_weather", "web_search"]


# -- cache breakpoints ----------------------------------------------------------------------


def test_a_cached_tool_and_system_text_become_cache_control() -> None:
    cached = Tool(name="lookup", parameters={"type": "object", "properties": {}}, cache=True)
    request = ChatRequest(
        model="m",
        messages=[Message(role="system", content=[Text("long rules", cache=True)]),
                  Message.user("hi")],
        tools=[cached],
    )
    body = anthropic.build_request(request, Endpoint(provider="p", base_url="http://x")).json
    assert body["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["system"] == [
        {"type": "text", "text": "long rules", "cache_control": {"type": "ephemeral"}}
    ]


def test_more_than_four_breakpoints_across_tools_and_parts_is_refused() -> None:
    tools = [Tool(name=f"t{i}", cache=True) for i in range(2)]
    parts = [Text(f"part {i}", cache=True) for i in range(3)]
    request = ChatRequest(model="m", messages=[Message.user(parts)], tools=tools)
    with pytest.raises(streamchat.ConfigurationError, match="at most 4 cache breakpoints"):
        anthropic.build_request(request, Endpoint(provider="p", base_url="http://x"))
    request = ChatRequest(model="m", messages=[Message.user(parts[:2])], tools=tools)
    anthropic.build_request(request, Endpoint(provider="p", base_url="http://x"))


def test_other_wires_ignore_tool_cache_flags() -> None:
    request = ChatRequest(model="m", messages=[Message.user("hi")],
                          tools=[Tool(name="t", cache=True)])
    body = openai_chat.build_request(request, Endpoint(provider="p", base_url="http://x")).json
    assert "cache_control" not in str(body)


@pytest.mark.parametrize(
    "wire, tool, words",
    [
        ("openai", CodeExecution(), "openai (Chat Completions) has no built-in code_execution"),
        ("openai-responses", UrlContext(), "openai-responses (Responses API) has no built-in"),
        ("gemini", WebSearch(allowed_domains=["a.com"]), "cannot limit its web search"),
        ("ollama", WebSearch(), "ollama (Ollama) has no built-in web_search"),
    ],
)
def test_a_tool_a_wire_lacks_fails_at_the_call_before_any_request(
    server: FakeServer, wire: str, tool: Any, words: str
) -> None:
    client = fake_client(server, wire)
    with pytest.raises(streamchat.ConfigurationError, match=re.escape(words)) as info:
        client.stream("news?", tools=[tool])
    assert info.value.provider == wire
    with pytest.raises(streamchat.ConfigurationError, match=re.escape(words)):
        streamchat.Chat(client).run("news?", tools=[tool])
    assert server.requests == []
