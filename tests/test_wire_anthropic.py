"""Anthropic Messages adapter: exact requests, and recorded streams decoded at every split.

Fixture sources are on the first line of each file in tests/fixtures/anthropic/.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from helpers import CHUNK_SIZES, FIXTURES, decoded, feed_named, outcome, same_at_every_split

from streamchat.accumulate import fold
from streamchat.errors import (
    ContextOverflowError,
    InvalidRequestError,
    OverloadedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    StreamChatError,
)
from streamchat.framing import Frame
from streamchat.types import (
    ChatRequest,
    DoneEvent,
    Event,
    HttpRequest,
    Message,
    ResponseFormat,
    ServerToolCall,
    TextEvent,
    ThinkingBlock,
    ThinkingEvent,
    Tool,
    ToolCall,
    ToolCallEvent,
    ToolCallStartEvent,
    Usage,
    UsageEvent,
)
from streamchat.wire import anthropic as wire
from streamchat.wire.common import Endpoint

PROVIDER = "anthropic"
ENDPOINT = Endpoint(PROVIDER, "https://api.anthropic.com/v1", api_key="sk-ant-test-secret")


def run(name: str, size: Optional[int]) -> Tuple[List[Event], Optional[StreamChatError]]:
    return outcome(wire, PROVIDER, name, size)


def decode(name: str, size: Optional[int]) -> List[Event]:
    return decoded(wire, PROVIDER, name, size)


def feed(*payloads: Dict[str, Any]) -> List[Event]:
    return feed_named(wire, PROVIDER, *payloads)


def message_start(usage: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "usage": usage or {"input_tokens": 10, "output_tokens": 1}}}


def message_end(reason: Optional[str], output_tokens: int = 5) -> List[Dict[str, Any]]:
    return [
        {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
         "usage": {"output_tokens": output_tokens}},
        {"type": "message_stop"},
    ]


# --- recorded streams -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / PROVIDER).glob("*.sse")))
@pytest.mark.parametrize("size", CHUNK_SIZES[:-1])
def test_every_fixture_decodes_the_same_whatever_the_split(name: str, size: int) -> None:
    same_at_every_split(wire, PROVIDER, name, size)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_text_with_ping(size: Optional[int]) -> None:
    events = decode("text.sse", size)
    assert [e.type for e in events] == ["usage", "text", "text", "text", "usage", "done"]
    response = fold(events)
    assert response.text == "Hello! Caf\u00e9 \u2615 time?"
    assert response.usage == Usage(input_tokens=25, output_tokens=15, total_tokens=40)
    assert response.finish_reason == "stop"
    assert response.provider_finish_reason == "end_turn"
    assert response.response_id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    assert response.model == "claude-sonnet-4-5-20250929"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_thinking_with_signature(size: Optional[int]) -> None:
    events = decode("thinking.sse", size)
    assert [e.type for e in events] == ["usage"] + ["thinking"] * 7 + ["text", "usage", "done"]
    signature = events[7]
    assert isinstance(signature, ThinkingEvent) and signature.text == ""
    assert signature.signature is not None and signature.signature.startswith("EqQBCgIYAhIM")
    response = fold(events)
    assert response.thinking is not None
    assert response.thinking.startswith("Let me solve this step by step:")
    assert response.thinking.endswith("10,800 + 1,350 + 81 = 12,231")
    assert [b.signature for b in response.thinking_blocks] == [signature.signature]
    assert response.text == "27 * 453 = 12,231"
    assert response.usage == Usage(input_tokens=46, output_tokens=143, total_tokens=189,
                                   cached_input_tokens=0, cache_write_tokens=0)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_redacted_thinking_is_kept_for_the_next_turn(size: Optional[int]) -> None:
    events = decode("redacted_thinking.sse", size)
    assert [e.type for e in events] == (
        ["usage", "thinking", "thinking", "thinking", "text", "text", "usage", "done"]
    )
    redacted = events[1]
    assert isinstance(redacted, ThinkingEvent) and redacted.text == ""
    assert redacted.redacted is not None and redacted.redacted.startswith("EmwKAhgBEgy3va3p")
    response = fold(events)
    assert len(response.thinking_blocks) == 2
    assert response.thinking_blocks[0].redacted == redacted.redacted
    assert response.thinking_blocks[1].text == "The user sent the magic string."
    assert response.thinking_blocks[1].signature is not None
    assert response.text == "Some of my reasoning was redacted."
    # The blocks go back unchanged, redacted first, before the text.
    body = wire.build_request(
        ChatRequest(model="m", messages=[Message.user("x"), response.to_message()]), ENDPOINT
    ).json
    assert body is not None
    assert body["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": redacted.redacted},
        {"type": "thinking", "thinking": "The user sent the magic string.",
         "signature": response.thinking_blocks[1].signature},
        {"type": "text", "text": "Some of my reasoning was redacted."},
    ]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_two_tool_use_blocks_one_with_empty_input(size: Optional[int]) -> None:
    events = decode("tool_use.sse", size)
    assert [e.type for e in events] == (
        ["usage"] + ["text"] * 13 + ["tool_call_start"] + ["tool_call_delta"] * 8
        + ["tool_call", "tool_call_start", "tool_call", "usage", "done"]
    )
    assert events[14] == ToolCallStartEvent(
        index=0, id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="get_weather"
    )
    assert events[-3] == ToolCallEvent(
        index=1, id="toolu_01VqG2jCdyjoB9HMTFnCKeo2", name="get_time", arguments={},
        raw_arguments="{}",
    )
    response = fold(events)
    assert response.text == "Okay, let's check the weather for San Francisco, CA:"
    assert response.tool_calls == [
        ToolCall(id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="get_weather",
                 arguments={"location": "San Francisco, CA", "unit": "fahrenheit"},
                 raw_arguments='{"location": "San Francisco, CA", "unit": "fahrenheit"}'),
        ToolCall(id="toolu_01VqG2jCdyjoB9HMTFnCKeo2", name="get_time", arguments={},
                 raw_arguments="{}"),
    ]
    # Cache reads and writes are part of the prompt: 472 + 1500 + 200.
    assert response.usage == Usage(input_tokens=2172, output_tokens=89, total_tokens=2261,
                                   cached_input_tokens=1500, cache_write_tokens=200)
    assert (response.finish_reason, response.provider_finish_reason) == ("tool_calls", "tool_use")


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_overloaded_error_after_a_200(size: Optional[int]) -> None:
    events, error = run("overloaded.sse", size)
    assert [e.type for e in events] == ["usage", "text"]
    assert fold(events).text == "Hel"
    assert isinstance(error, OverloadedError)
    assert error.retryable
    assert "Overloaded" in str(error)
    assert error.provider == PROVIDER


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_max_tokens_is_length(size: Optional[int]) -> None:
    events = decode("max_tokens.sse", size)
    assert [e.type for e in events] == ["usage", "text", "text", "usage", "done"]
    response = fold(events)
    assert (response.finish_reason, response.provider_finish_reason) == ("length", "max_tokens")
    assert response.text == "Once upon a time, in a"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_structured_output_tool_streams_as_text(size: Optional[int]) -> None:
    events = decode("structured_output.sse", size)
    assert [e.type for e in events] == ["usage", "text", "text", "text", "usage", "done"]
    response = fold(events)
    assert json.loads(response.text) == {"city": "Paris", "temp_c": 21}
    assert response.tool_calls == []
    assert (response.finish_reason, response.provider_finish_reason) == ("stop", "tool_use")


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_stream_cut_before_message_stop_is_truncated(size: Optional[int]) -> None:
    events, error = run("truncated.sse", size)
    assert [e.type for e in events] == ["usage", "text"]
    assert fold(events).text == "Hello"
    assert isinstance(error, ProtocolError)
    assert "message_stop" in str(error)


# --- decoder details --------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "normalised"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("refusal", "refusal"), ("pause_turn", "other"),
    ("something_new", "other"),
])
def test_stop_reasons(reason: str, normalised: str) -> None:
    done = feed(message_start(), *message_end(reason))[-1]
    assert isinstance(done, DoneEvent)
    assert (done.finish_reason, done.provider_finish_reason) == (normalised, reason)


@pytest.mark.parametrize(("error", "cls"), [
    ({"type": "overloaded_error", "message": "Overloaded"}, OverloadedError),
    ({"type": "rate_limit_error", "message": "Number of request tokens has exceeded your "
                                             "per-minute rate limit"}, RateLimitError),
    ({"type": "api_error", "message": "Internal server error"}, ServerError),
    ({"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 "
                                                  "maximum"}, ContextOverflowError),
])
def test_in_stream_errors(error: Dict[str, Any], cls: type) -> None:
    with pytest.raises(cls) as raised:
        feed(message_start(), {"type": "error", "error": error})
    assert error["message"] in str(raised.value)


def test_unnamed_frames_and_unknown_events() -> None:
    decoder = wire.new_decoder(PROVIDER)
    assert decoder.feed(Frame('{"type":"ping"}', "message")) == []
    assert decoder.feed(Frame('{"type":"something_new","x":1}', "something_new")) == []
    delta = {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": "hi"}}
    assert decoder.feed(Frame(json.dumps(delta), "message")) == [TextEvent(text="hi")]


def test_message_delta_input_zero_keeps_the_start_count() -> None:
    events = feed(
        message_start({"input_tokens": 471, "output_tokens": 5}),
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"input_tokens": 0, "output_tokens": 80}},
        {"type": "message_stop"},
    )
    assert events[1] == UsageEvent(usage=Usage(input_tokens=471, output_tokens=80,
                                               total_tokens=551))


def test_server_tool_blocks_are_server_tool_calls_not_calls() -> None:
    events = feed(
        message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {
            "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": '{"query": "x"}'}},
        {"type": "content_block_stop", "index": 0},
        *message_end("end_turn"),
    )
    assert [e.type for e in events] == ["usage", "server_tool_call", "usage", "done"]
    assert fold(events).tool_calls == []
    assert fold(events).server_tool_calls == [
        ServerToolCall(id="srvtoolu_1", name="web_search", input={"query": "x"})
    ]


def test_late_frames_are_ignored_and_close_after_stop_is_quiet() -> None:
    decoder = wire.new_decoder(PROVIDER)
    for payload in (message_start(), *message_end("end_turn")):
        decoder.feed(Frame(json.dumps(payload), payload["type"]))
    assert decoder.feed(Frame('{"type":"error","error":{"type":"api_error"}}', "error")) == []
    assert decoder.close() == []


def test_decode_body_of_a_complete_message() -> None:
    body = {
        "id": "msg_9", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
        "content": [
            {"type": "thinking", "thinking": "Need the weather.", "signature": "sig-1"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
             "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 100, "cache_read_input_tokens": 50,
                  "cache_creation_input_tokens": 0, "output_tokens": 30},
    }
    events = wire.decode_body(body, PROVIDER)
    assert [e.type for e in events] == [
        "usage", "thinking", "thinking", "text", "tool_call_start", "tool_call_delta",
        "tool_call", "tool_call_start", "tool_call", "done",
    ]
    response = fold(events)
    assert response.thinking_blocks == [ThinkingBlock(text="Need the weather.",
                                                      signature="sig-1")]
    assert response.text == "Let me check."
    assert [(c.id, c.arguments, c.raw_arguments) for c in response.tool_calls] == [
        ("toolu_1", {"city": "Paris"}, '{"city": "Paris"}'), ("toolu_2", {}, "{}"),
    ]
    assert response.usage == Usage(input_tokens=150, output_tokens=30, total_tokens=180,
                                   cached_input_tokens=50, cache_write_tokens=0)
    assert (response.finish_reason, response.response_id) == ("tool_calls", "msg_9")


def test_decode_body_structured_output_and_errors() -> None:
    body = {"id": "msg_2", "type": "message", "model": "claude-haiku-4-5",
            "content": [{"type": "tool_use", "id": "toolu_9", "name": "structured_output_answer",
                         "input": {"ok": True}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 6}}
    events = wire.decode_body(body, PROVIDER)
    assert [e.type for e in events] == ["usage", "text", "done"]
    assert events[1] == TextEvent(text='{"ok": true}')
    assert fold(events).finish_reason == "stop"
    with pytest.raises(OverloadedError):
        wire.decode_body({"type": "error", "error": {"type": "overloaded_error",
                                                     "message": "Overloaded"}}, PROVIDER)
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        wire.decode_body({"type": "error", "error": {
            "type": "invalid_request_error", "message": "max_tokens: Field required"}}, PROVIDER)


# --- requests ---------------------------------------------------------------------------

WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"]},
)


def test_conversation_becomes_alternating_turns() -> None:
    request = ChatRequest(
        model="claude-sonnet-4-5",
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris and Rome?"),
            Message(
                role="assistant",
                content="Checking both.",
                thinking=[ThinkingBlock(text="Two cities.", signature="sig-abc"),
                          ThinkingBlock(text="unsigned, dropped")],
                tool_calls=[
                    ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"},
                             raw_arguments='{"city":"Paris"}'),
                    ToolCall(id="toolu_2", name="get_weather", arguments={"city": "Rome"},
                             raw_arguments='{"city":"Rome"}'),
                ],
            ),
            Message.tool("toolu_1", {"temp_c": 21}),
            Message.tool("toolu_2", "sunny"),
            Message.user("And tomorrow?"),
        ],
    )
    http = wire.build_request(request, ENDPOINT)
    assert http == HttpRequest(
        method="POST",
        url="https://api.anthropic.com/v1/messages",
        headers={
            "anthropic-version": "2023-06-01",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "x-api-key": "sk-ant-test-secret",
        },
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather in Paris and Rome?"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Two cities.", "signature": "sig-abc"},
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                     "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                     "input": {"city": "Rome"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1",
                     "content": '{"temp_c": 21}'},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "sunny"},
                    {"type": "text", "text": "And tomorrow?"},
                ]},
            ],
            "stream": True,
        },
    )
    assert "sk-ant-test-secret" not in repr(http)


def test_every_option_in_the_body() -> None:
    request = ChatRequest(
        model="claude-sonnet-4-5",
        messages=[Message.user("hi")],
        tools=[WEATHER],
        tool_choice="get_weather",
        max_tokens=1000,
        temperature=0.5,
        stream=False,
        extra_body={"metadata": {"user_id": "u1"}, "temperature": 0.7},
    )
    http = wire.build_request(request, ENDPOINT)
    assert http.headers["Accept"] == "application/json"
    assert http.json == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": "get_weather", "input_schema": WEATHER.parameters,
                   "description": "Weather for a city"}],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "temperature": 0.7,
        "stream": False,
        "metadata": {"user_id": "u1"},
    }


@pytest.mark.parametrize(("choice", "expected"), [
    (None, None), ("auto", {"type": "auto"}), ("none", {"type": "none"}),
    ("required", {"type": "any"}), ("get_weather", {"type": "tool", "name": "get_weather"}),
])
def test_tool_choice(choice: Optional[str], expected: Optional[Dict[str, str]]) -> None:
    request = ChatRequest(model="m", messages=[Message.user("x")], tools=[WEATHER],
                          tool_choice=choice)
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None and body.get("tool_choice") == expected
    bare = wire.build_request(request.model_copy(update={"tools": []}), ENDPOINT).json
    assert bare is not None and "tool_choice" not in bare and "tools" not in bare


@pytest.mark.parametrize(("thinking", "max_tokens", "budget", "sent_max"), [
    (True, None, 2048, 4096),
    (500, None, 1024, 4096),
    (3000, None, 3000, 4096),
    ("high", None, 16384, 16384 + 4096),
    ("medium", 3000, 2999, 3000),
    ("low", 20000, 2048, 20000),
])
def test_thinking_budget_stays_below_max_tokens(
    thinking: Any, max_tokens: Optional[int], budget: int, sent_max: int
) -> None:
    request = ChatRequest(model="m", messages=[Message.user("x")], thinking=thinking,
                          max_tokens=max_tokens)
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == sent_max


def test_no_thinking_key_unless_asked() -> None:
    for thinking in (None, False):
        request = ChatRequest(model="m", messages=[Message.user("x")], thinking=thinking)
        body = wire.build_request(request, ENDPOINT).json
        assert body is not None and "thinking" not in body


def test_structured_output_is_a_forced_tool() -> None:
    fmt = ResponseFormat(name="weather report", json_schema={
        "type": "object", "properties": {"city": {"type": "string"}}})
    request = ChatRequest(model="m", messages=[Message.user("x")], tools=[WEATHER],
                          tool_choice="auto", response_format=fmt)
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    assert body["tools"][-1] == {
        "name": "structured_output_weather_report",
        "description": "Give the final answer as the input of this tool, following its schema.",
        "input_schema": fmt.json_schema,
    }
    # Beside the caller's tools, one tool must be used, whichever it is.
    assert body["tool_choice"] == {"type": "any"}
    alone = wire.build_request(request.model_copy(update={"tools": []}), ENDPOINT).json
    assert alone is not None
    assert alone["tool_choice"] == {"type": "tool", "name": "structured_output_weather_report"}
    # A forced tool is refused with thinking on, so it is only offered then.
    thinking = wire.build_request(request.model_copy(update={"thinking": True}), ENDPOINT).json
    assert thinking is not None and thinking["tool_choice"] == {"type": "auto"}


def test_endpoint_headers_win_and_base_url_keeps_its_prefix() -> None:
    endpoint = Endpoint(PROVIDER, "https://proxy.example/anthropic/v1/", api_key=None,
                        headers={"anthropic-version": "2024-01-01",
                                 "anthropic-beta": "prompt-caching-2024-07-31"})
    http = wire.build_request(ChatRequest(model="m", messages=[Message.user("x")]), endpoint)
    assert http.url == "https://proxy.example/anthropic/v1/messages"
    assert http.headers == {
        "anthropic-version": "2024-01-01",
        "anthropic-beta": "prompt-caching-2024-07-31",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }


def test_empty_messages_are_left_out() -> None:
    request = ChatRequest(model="m", messages=[
        Message.user("hi"), Message.assistant(""), Message.user("again"),
    ])
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]}]


def test_final_assistant_prefill_loses_trailing_white_space() -> None:
    request = ChatRequest(model="m", messages=[
        Message.user("Tell a story"),
        Message(role="assistant", content="Once upon a time \n", interrupted=True),
    ])
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "Once upon a time"}]


def test_structured_output_beside_tools_requires_a_tool_not_the_format() -> None:
    request = ChatRequest(model="m", messages=[Message.user("hi")],
                          tools=[Tool(name="lookup")],
                          response_format=ResponseFormat(name="Answer", json_schema={}))
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    assert body["tool_choice"] == {"type": "any"}
    assert [t["name"] for t in body["tools"]] == ["lookup", "structured_output_Answer"]
