"""OpenAI Chat Completions: request shape and decoding of recorded streams."""

import pytest
from helpers import CHUNK_SIZES, decode, fixture, folded

from streamchat.errors import ProtocolError, ServerError
from streamchat.framing import Frame
from streamchat.types import ChatRequest, Message, ResponseFormat, Tool, ToolCall
from streamchat.wire import openai_chat
from streamchat.wire.common import Endpoint


def run(name, size=None):
    return decode(openai_chat, fixture("openai", name), size, provider="openai")


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_text_and_usage(size):
    events = run("text_usage.sse", size)
    assert [e.type for e in events] == ["text", "text", "usage", "done"]
    response = folded(events)
    assert response.text == "Café crème ☕"
    assert response.finish_reason == "stop"
    assert response.usage.input_tokens == 19
    assert response.usage.output_tokens == 5
    assert response.usage.total_tokens == 24
    assert response.response_id == "chatcmpl-C9xQ1"
    assert response.model == "gpt-4.1-mini-2025-04-14"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_parallel_tool_calls_with_interleaved_fragments(size):
    events = run("parallel_tools.sse", size)
    assert [e.type for e in events] == [
        "tool_call_start", "tool_call_delta", "tool_call_start", "tool_call_delta",
        "tool_call_delta", "tool_call", "tool_call", "usage", "done",
    ]
    response = folded(events)
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_Vh3kQ", "get_weather", {"location": "Paris"}),
        ("call_P0m2x", "get_time", {"tz": "Europe/Paris"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage.cached_input_tokens == 64


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_reasoning_content_becomes_thinking(size):
    events = run("deepseek_reasoning.sse", size)
    assert [e.type for e in events] == ["thinking", "thinking", "text", "usage", "done"]
    response = folded(events)
    assert response.thinking == "9.11 vs 9.8: compare tenths."
    assert response.text == "9.8 is larger."
    assert response.usage.reasoning_tokens == 110


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_openrouter_comments_and_reasoning_field(size):
    events = run("openrouter_comments_reasoning.sse", size)
    assert [e.type for e in events] == ["thinking", "thinking", "text", "usage", "done"]
    response = folded(events)
    assert response.thinking == "User greets; reply briefly."
    assert response.text == "Hi there!"
    assert response.usage.reasoning_tokens == 14


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_think_tags_split_across_chunks(size):
    response = folded(run("think_tags.sse", size))
    assert response.thinking == "\nTwo plus two is four.\n"
    assert response.text == "4"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_fragments_without_index_and_repeated_index_stay_separate_calls(size):
    response = folded(run("tools_without_index.sse", size))
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("call_a", {"q": "tea"}),
        ("call_b", {"q": "cake"}),
    ]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_error_chunk_inside_a_200_stream_is_typed(size):
    with pytest.raises(ServerError, match="Provider disconnected unexpectedly"):
        run("error_in_stream.sse", size)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_stream_without_finish_reason_or_done_is_truncated(size):
    with pytest.raises(ProtocolError, match="ended before"):
        run("truncated.sse", size)


def test_chunks_after_done_are_ignored():
    decoder = openai_chat.new_decoder("openai")
    decoder.feed(Frame('{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}'))
    assert [e.type for e in decoder.feed(Frame("[DONE]"))] == ["done"]
    assert decoder.feed(Frame('{"choices":[{"index":0,"delta":{"content":"late"}}]}')) == []


def test_request_body_and_headers():
    request = ChatRequest(
        model="gpt-4.1-mini",
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris?"),
            Message.assistant("", [ToolCall(id="call_1", name="get_weather",
                                            arguments={"city": "Paris"},
                                            raw_arguments='{"city": "Paris"}')]),
            Message.tool("call_1", {"temp": 21}),
        ],
        tools=[Tool(name="get_weather", description="Weather now",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}})],
        tool_choice="get_weather",
        response_format=ResponseFormat(name="Answer", json_schema={"type": "object"}),
        max_tokens=100,
        temperature=0.2,
        thinking="low",
    )
    endpoint = Endpoint(
        provider="openai", base_url="https://api.openai.com/v1", api_key="sk-secret"
    )
    http = openai_chat.build_request(request, endpoint)
    assert http.method == "POST"
    assert http.url == "https://api.openai.com/v1/chat/completions"
    assert http.headers["Authorization"] == "Bearer sk-secret"
    assert http.json == {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather now",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "Answer", "schema": {"type": "object"}, "strict": True}},
        "max_completion_tokens": 100,
        "temperature": 0.2,
        "reasoning_effort": "low",
    }
    assert "sk-secret" not in repr(http)


def test_presets_can_use_the_classic_max_tokens_field():
    request = ChatRequest(model="m", messages=[Message.user("hi")], max_tokens=5)
    endpoint = Endpoint(provider="groq", base_url="http://x/v1",
                        options={"max_tokens_field": "max_tokens"})
    body = openai_chat.build_request(request, endpoint).json
    assert body["max_tokens"] == 5 and "max_completion_tokens" not in body


def test_non_streamed_body_gives_the_same_events():
    body = {
        "id": "chatcmpl-1", "model": "gpt-4o", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_q", "type": "function",
                            "function": {"name": "get_weather",
                                         "arguments": "{\"location\":\"Shanghai\"}"}}]}}],
        "usage": {"prompt_tokens": 91, "completion_tokens": 14, "total_tokens": 105},
    }
    events = openai_chat.decode_body(body, "openai")
    assert [e.type for e in events] == [
        "tool_call_start", "tool_call_delta", "tool_call", "usage", "done"]
    response = folded(events)
    assert response.tool_calls[0].arguments == {"location": "Shanghai"}
    assert response.usage.total_tokens == 105
