"""Every request control, in every wire's own field (or refused with a ConfigurationError
before anything is sent), compared as exact request bodies.

Each test cites the reference its field names follow.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

import streamchat
from streamchat.types import ChatRequest, Message, Tool
from streamchat.wire import anthropic, gemini, ollama, openai_chat, openai_responses
from streamchat.wire.common import Endpoint

WEATHER = Tool(
    name="get_weather",
    description="Weather now",
    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"], "additionalProperties": False},
    strict=True,
)
EVERY_SAMPLING = dict(stop=["END"], top_p=0.9, top_k=40, seed=7, presence_penalty=0.5,
                      frequency_penalty=0.25)


def request(**controls: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=[Message.user("hi")], **controls)


def endpoint(provider: str = "test", **options: Any) -> Endpoint:
    return Endpoint(provider=provider, base_url="https://api.example.com/v1", api_key="sk-k",
                    options=options)


def body(module: Any, req: ChatRequest, ep: Optional[Endpoint] = None) -> Dict[str, Any]:
    http = module.build_request(req, ep or endpoint())
    assert http.json is not None
    return http.json


# -- OpenAI Chat Completions ------------------------------------------------------------

def test_chat_completions_fields():
    # https://platform.openai.com/docs/api-reference/chat/create
    req = request(**EVERY_SAMPLING, tools=[WEATHER], parallel_tool_calls=False,
                  logprobs=True, top_logprobs=3, service_tier="flex",
                  metadata={"run": "42"}, store=True)
    assert body(openai_chat, req) == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather now",
            "parameters": WEATHER.parameters, "strict": True}}],
        "stop": ["END"], "top_p": 0.9, "top_k": 40, "seed": 7,
        "presence_penalty": 0.5, "frequency_penalty": 0.25,
        "parallel_tool_calls": False,
        "service_tier": "flex", "metadata": {"run": "42"}, "store": True,
        "logprobs": True, "top_logprobs": 3,
    }


def test_chat_completions_sends_no_parallel_flag_without_tools():
    # OpenAI refuses parallel_tool_calls when no tools are given.
    assert "parallel_tool_calls" not in body(openai_chat, request(parallel_tool_calls=True))


def test_unset_controls_add_nothing():
    plain = request()
    for module in (openai_chat, openai_responses, anthropic, gemini, ollama):
        sent = body(module, plain)
        for field in ("stop", "top_p", "seed", "logprobs", "metadata", "store",
                      "stop_sequences", "generationConfig", "options", "include"):
            assert field not in sent, (module.__name__, field)


def test_openai_refuses_top_k_but_compatible_servers_take_it():
    with pytest.raises(streamchat.ConfigurationError, match="top_k"):
        body(openai_chat, request(top_k=5), endpoint("openai", unsupported=("top_k",)))
    assert body(openai_chat, request(top_k=5), endpoint("vllm"))["top_k"] == 5


@pytest.mark.parametrize("provider", ["openai", "azure", "groq", "xai", "deepseek"])
def test_presets_without_top_k_refuse_it(provider):
    client = streamchat.Client(provider, model="m", api_key="k", base_url="http://h")
    with pytest.raises(streamchat.ConfigurationError, match=f"{provider}.*top_k"):
        client.stream("hi", top_k=5)


def test_groq_refuses_logprobs_as_its_api_does():
    # https://console.groq.com/docs/openai: logprobs and top_logprobs answer 400.
    client = streamchat.Client("groq", api_key="k")
    with pytest.raises(streamchat.ConfigurationError, match="logprobs"):
        client.stream("hi", logprobs=True)


# -- OpenAI Responses -------------------------------------------------------------------

def test_responses_fields():
    # https://platform.openai.com/docs/api-reference/responses/create
    req = request(top_p=0.5, tools=[WEATHER], parallel_tool_calls=False, logprobs=True,
                  top_logprobs=2, service_tier="priority", metadata={"a": "b"}, store=False,
                  previous_response_id="resp_1")
    assert body(openai_responses, req) == {
        "model": "m",
        "input": [{"role": "user", "content": "hi"}],
        "stream": True,
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather now",
                   "parameters": WEATHER.parameters, "strict": True}],
        "top_p": 0.5, "parallel_tool_calls": False, "service_tier": "priority",
        "metadata": {"a": "b"}, "store": False, "previous_response_id": "resp_1",
        # store=False also asks for encrypted reasoning, the only way it can come back.
        "include": ["message.output_text.logprobs", "reasoning.encrypted_content"],
        "top_logprobs": 2,
    }


@pytest.mark.parametrize("control", ["stop", "top_k", "seed", "presence_penalty",
                                     "frequency_penalty"])
def test_responses_refuses_what_it_has_no_field_for(control):
    with pytest.raises(streamchat.ConfigurationError, match=f"Responses API.*{control}"):
        body(openai_responses, request(**{control: EVERY_SAMPLING[control]}))


def test_responses_sends_only_the_messages_after_a_chained_response():
    req = ChatRequest(
        model="m",
        messages=[Message.system("Be brief."), Message.user("one"), Message.assistant("1"),
                  Message.user("two")],
        previous_response_id="resp_1", chained_messages=3,
    )
    sent = body(openai_responses, req)
    # NOTE: instructions are not carried over from the previous response: sent again.
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == [{"role": "user", "content": "two"}]
    assert sent["previous_response_id"] == "resp_1"


def test_chained_history_goes_whole_to_a_wire_that_cannot_chain():
    req = ChatRequest(model="m", messages=[Message.user("one"), Message.assistant("1"),
                                           Message.user("two")],
                      previous_response_id="resp_1", chained_messages=2)
    sent = body(openai_chat, req)
    assert len(sent["messages"]) == 3 and "previous_response_id" not in sent


@pytest.mark.parametrize("module", [openai_chat, anthropic, gemini, ollama])
def test_previous_response_id_alone_is_refused_elsewhere(module):
    with pytest.raises(streamchat.ConfigurationError, match="previous_response_id"):
        body(module, request(previous_response_id="resp_1"))


# -- Anthropic --------------------------------------------------------------------------

def test_anthropic_fields():
    # https://docs.anthropic.com/en/api/messages
    req = request(stop=["END"], top_p=0.9, top_k=40, tools=[WEATHER], parallel_tool_calls=False,
                  service_tier="standard_only", metadata={"user_id": "u-1"})
    assert body(anthropic, req) == {
        "model": "m", "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": "get_weather", "input_schema": WEATHER.parameters,
                   "description": "Weather now", "strict": True}],
        "stop_sequences": ["END"], "top_p": 0.9, "top_k": 40,
        "service_tier": "standard_only", "metadata": {"user_id": "u-1"},
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "stream": True,
    }


def test_anthropic_parallel_flag_joins_the_chosen_tool():
    req = request(tools=[WEATHER], tool_choice="required", parallel_tool_calls=True)
    assert body(anthropic, req)["tool_choice"] == {"type": "any",
                                                   "disable_parallel_tool_use": False}


@pytest.mark.parametrize("control,value", [
    ("seed", 1), ("presence_penalty", 0.1), ("frequency_penalty", 0.1), ("logprobs", True),
    ("store", True),
])
def test_anthropic_refuses_what_it_has_no_field_for(control, value):
    with pytest.raises(streamchat.ConfigurationError, match=f"Messages API.*{control}"):
        body(anthropic, request(**{control: value}))


def test_anthropic_metadata_is_user_id_only():
    with pytest.raises(streamchat.ConfigurationError, match="user_id"):
        body(anthropic, request(metadata={"team": "x"}))


# -- Gemini and Vertex ------------------------------------------------------------------

def test_gemini_fields():
    # https://ai.google.dev/api/generate-content#generationconfig
    req = request(**EVERY_SAMPLING, logprobs=True, top_logprobs=4, service_tier="flex",
                  tools=[WEATHER])
    sent = body(gemini, req)
    assert sent["generationConfig"] == {
        "stopSequences": ["END"], "topP": 0.9, "topK": 40, "seed": 7,
        "presencePenalty": 0.5, "frequencyPenalty": 0.25,
        "responseLogprobs": True, "logprobs": 4,
    }
    assert sent["serviceTier"] == "flex"
    # Strict tools: VALIDATED keeps calls to their schema and still allows text.
    # https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "VALIDATED"}}


def test_gemini_strict_tools_keep_a_forced_choice():
    req = request(tools=[WEATHER], tool_choice="required")
    assert body(gemini, req)["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_gemini_metadata_is_refused_but_vertex_sends_labels():
    with pytest.raises(streamchat.ConfigurationError, match="labels"):
        body(gemini, request(metadata={"team": "x"}))
    # https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.endpoints/generateContent
    assert body(gemini, request(metadata={"team": "x"}), endpoint(vertex=True))["labels"] == {
        "team": "x"}


def test_gemini_cannot_forbid_parallel_calls():
    with pytest.raises(streamchat.ConfigurationError, match="parallel_tool_calls"):
        body(gemini, request(tools=[WEATHER], parallel_tool_calls=False))
    assert "parallel_tool_calls" not in str(body(gemini, request(parallel_tool_calls=True)))


# -- Ollama -----------------------------------------------------------------------------

def test_ollama_fields():
    # https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
    req = request(**EVERY_SAMPLING, max_tokens=9, logprobs=True, top_logprobs=2)
    sent = body(ollama, req)
    assert sent["options"] == {"num_predict": 9, "stop": ["END"], "top_p": 0.9, "top_k": 40,
                               "seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.25}
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2


@pytest.mark.parametrize("controls", [
    {"service_tier": "flex"}, {"metadata": {"a": "b"}}, {"store": True},
    {"tools": [WEATHER]}, {"tools": [WEATHER.model_copy(update={"strict": False})],
                           "parallel_tool_calls": False},
])
def test_ollama_refuses_what_it_has_no_field_for(controls):
    with pytest.raises(streamchat.ConfigurationError, match="Ollama"):
        body(ollama, request(**controls))


# -- the vocabulary on Client and per call ----------------------------------------------

def test_client_defaults_and_per_call_values_merge():
    client = streamchat.Client("openai", api_key="k", seed=1, top_p=0.5, stop="END")
    req = client.request("hi", top_p=0.25, logprobs=True)
    assert (req.seed, req.top_p, req.stop, req.logprobs) == (1, 0.25, ["END"], True)


def test_top_logprobs_alone_asks_for_logprobs():
    assert request(top_logprobs=2).logprobs is True


def test_unknown_control_is_named_with_a_suggestion():
    with pytest.raises(streamchat.ConfigurationError, match="did you mean 'top_p'"):
        streamchat.Client("openai", api_key="k", topp=0.5)  # type: ignore[call-arg]
    client = streamchat.Client("openai", api_key="k")
    with pytest.raises(streamchat.ConfigurationError, match="did you mean 'seed'"):
        client.request("hi", sead=1)  # type: ignore[call-arg]


def test_refusal_comes_from_stream_before_any_thread():
    client = streamchat.Client("anthropic", api_key="k")
    with pytest.raises(streamchat.ConfigurationError, match=r"anthropic .*seed"):
        client.stream("hi", seed=3)
