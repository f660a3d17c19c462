"""client.models() and client.count_tokens(): each wire's exact request, its answer read
back, paging, and the same retries and errors as a stream, through real sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from loopback import Exchange, Loopback

import streamchat
from streamchat.testing import FakeServer
from streamchat.types import ChatRequest, Message, Tool
from streamchat.wire import anthropic, catalog, gemini, openai_responses
from streamchat.wire.common import Endpoint

WEATHER = Tool(name="get_weather", description="Weather now",
               parameters={"type": "object", "properties": {"city": {"type": "string"}}})


def endpoint(**options: Any) -> Endpoint:
    return Endpoint(provider="p", base_url="https://api.example.com/v1", api_key="sk-k",
                    options=options)


def prompt() -> ChatRequest:
    return ChatRequest(model="m", messages=[Message.system("Be brief."), Message.user("hi")],
                       tools=[WEATHER], max_tokens=50, temperature=0.3)


# -- exact requests ---------------------------------------------------------------------

def test_model_list_requests():
    # https://platform.openai.com/docs/api-reference/models/list
    openai = catalog.models_request("openai", endpoint())
    assert (openai.method, openai.url) == ("GET", "https://api.example.com/v1/models")
    assert openai.headers["Authorization"] == "Bearer sk-k"
    # https://docs.anthropic.com/en/api/models-list
    first = catalog.models_request("anthropic", endpoint())
    assert first.url == "https://api.example.com/v1/models?limit=1000"
    assert first.headers["x-api-key"] == "sk-k" and first.headers["anthropic-version"]
    later = catalog.models_request("anthropic", endpoint(), "claude-x")
    assert later.url == "https://api.example.com/v1/models?limit=1000&after_id=claude-x"
    # https://ai.google.dev/api/models#method:-models.list
    google = catalog.models_request("gemini", endpoint(), "tok")
    assert google.url == "https://api.example.com/v1/models?pageSize=1000&pageToken=tok"
    # https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list
    vertex = catalog.models_request(
        "gemini", endpoint(models_url="https://aiplatform.googleapis.com/v1beta1/publishers/"
                                      "google/models"))
    assert vertex.url == ("https://aiplatform.googleapis.com/v1beta1/publishers/google/models"
                          "?pageSize=1000")
    # https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models
    assert catalog.models_request("ollama", endpoint()).url.endswith("/v1/api/tags")


def test_azure_model_list_keeps_the_api_version():
    client = streamchat.Client("azure", model="dep", api_key="k",
                               base_url="https://res.openai.azure.com", api_version="2024-10-21")
    assert client._endpoint is not None
    http = catalog.models_request("openai", client._endpoint)
    assert http.url == "https://res.openai.azure.com/openai/models?api-version=2024-10-21"
    assert http.headers["api-key"] == "k"


def test_anthropic_count_request():
    # https://docs.anthropic.com/en/api/messages-count-tokens
    http = catalog.count_request("anthropic", anthropic, prompt(), endpoint())
    assert (http.method, http.url) == ("POST", "https://api.example.com/v1/messages/count_tokens")
    assert http.json == {
        "model": "m", "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": "get_weather", "input_schema": WEATHER.parameters,
                   "description": "Weather now"}],
    }
    assert http.headers["x-api-key"] == "sk-k" and http.headers["Accept"] == "application/json"


def test_responses_count_request():
    # https://platform.openai.com/docs/api-reference/responses/input-tokens
    http = catalog.count_request("openai-responses", openai_responses, prompt(), endpoint())
    assert http.url == "https://api.example.com/v1/responses/input_tokens"
    assert http.json == {
        "model": "m", "instructions": "Be brief.",
        "input": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather now",
                   "parameters": WEATHER.parameters}],
    }  # no max_output_tokens, temperature or stream: the counter takes none of them


def test_gemini_and_vertex_count_requests():
    # https://ai.google.dev/api/tokens#method:-models.counttokens
    http = catalog.count_request("gemini", gemini, prompt(), endpoint())
    assert http.url == "https://api.example.com/v1/models/m:countTokens"
    inner = (http.json or {})["generateContentRequest"]
    assert inner["model"] == "models/m"
    assert inner["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert inner["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    # https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/countTokens
    vertex = catalog.count_request("gemini", gemini, prompt(), endpoint(vertex=True))
    assert "generateContentRequest" not in (vertex.json or {})
    assert (vertex.json or {})["contents"] == inner["contents"]


@pytest.mark.parametrize("provider", ["openai", "ollama", "groq"])
def test_providers_without_a_counter_say_which_have_one(provider):
    client = streamchat.Client(provider, model="m", api_key="k", base_url="http://h")
    with pytest.raises(streamchat.ConfigurationError, match="no token counting"):
        client.count_tokens("hi")


def test_reading_answers():
    ids, raw, nxt = catalog.read_models(
        "gemini", {"models": [{"name": "models/gemini-2.5-flash"}], "nextPageToken": "t2"}, "g")
    assert (ids, nxt) == (["gemini-2.5-flash"], "t2") and raw[0]["name"].startswith("models/")
    ids, _, nxt = catalog.read_models("ollama", {"models": [{"name": "llama3.2:latest"}]}, "o")
    assert (ids, nxt) == (["llama3.2:latest"], None)
    assert catalog.read_count("gemini", {"totalTokens": 31}, "g") == 31
    with pytest.raises(streamchat.ProtocolError, match="input_tokens"):
        catalog.read_count("anthropic", {"tokens": 3}, "a")


# -- through sockets --------------------------------------------------------------------

@pytest.mark.parametrize("wire", ["openai", "openai-responses", "anthropic", "gemini", "ollama"])
def test_every_wire_lists_the_fakes_models(wire):
    with FakeServer() as fake:
        client = streamchat.Client(wire, model="m", api_key="k", base_url=fake.base_url(wire))
        models = client.models()
        assert list(models) == ["fake-model"]
        assert models.entry("fake-model") is not None
        assert fake.requests[-1].method == "GET"


@pytest.mark.parametrize("wire", ["openai-responses", "anthropic", "gemini"])
def test_counters_answer_through_the_fake(wire):
    with FakeServer() as fake:
        client = streamchat.Client(wire, model="m", api_key="k", base_url=fake.base_url(wire))
        short = client.count_tokens("hi")
        longer = client.count_tokens("hi " * 200, system="Be brief.")
        assert 0 < short < longer
        assert fake.requests[-1].json is not None


def test_vertex_and_azure_play_on_the_fake():
    with FakeServer() as fake:
        vertex = streamchat.Client("vertex", project="proj", location="us-central1",
                                   token_provider=lambda: "ya29.tok", base_url=fake.url)
        assert list(vertex.models()) == ["fake-model"]
        assert vertex.count_tokens("hello there") > 0
        assert vertex.complete("hi").text
        paths = [r.path for r in fake.requests]
        assert paths[0] == "/v1beta1/publishers/google/models"
        assert paths[1] == ("/v1/projects/proj/locations/us-central1/publishers/google/models/"
                            "gemini-2.5-flash:countTokens")
        assert all(r.headers["Authorization"] == "Bearer ya29.tok" for r in fake.requests)
        azure = streamchat.Client("azure", model="dep", api_key="az-key", base_url=fake.url,
                                  api_version="2024-10-21")
        assert azure.complete("hi", seed=3).text
        last = fake.requests[-1]
        assert last.path == "/openai/deployments/dep/chat/completions"
        assert last.query == {"api-version": "2024-10-21"}
        assert last.headers["api-key"] == "az-key" and last.json["seed"] == 3


def test_paging_retries_and_errors_are_a_streams():
    page = {"data": [{"id": "a", "type": "model"}], "has_more": True, "last_id": "a"}
    last = {"data": [{"id": "b", "type": "model"}], "has_more": False, "last_id": "b"}

    def answer(body: Any):
        def handler(ex: Exchange) -> None:
            ex.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return handler

    def busy(ex: Exchange) -> None:
        ex.reply(529, b'{"type":"error","error":{"type":"overloaded_error","message":"busy"}}',
                 {"retry-after": "0"})

    with Loopback(answer(page), busy, answer(last)) as server:
        client = streamchat.Client("anthropic", api_key="k", base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(initial_delay=0, jitter=0))
        assert list(client.models()) == ["a", "b"]
        assert [ex.path for ex in server.requests] == [
            "/v1/models?limit=1000", "/v1/models?limit=1000&after_id=a",
            "/v1/models?limit=1000&after_id=a"]

    def refused(ex: Exchange) -> None:
        ex.reply(401, b'{"type":"error","error":{"type":"authentication_error",'
                      b'"message":"invalid x-api-key"}}')

    with Loopback(refused) as server:
        client = streamchat.Client("anthropic", api_key="k", base_url=server.url + "/v1")
        with pytest.raises(streamchat.AuthenticationError):
            client.count_tokens("hi")
