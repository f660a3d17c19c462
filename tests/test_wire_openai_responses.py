"""OpenAI Responses adapter: exact requests, and recorded streams decoded at every split.

Fixture sources are on the first line of each file in tests/fixtures/openai-responses/.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from helpers import CHUNK_SIZES, FIXTURES, decoded, feed_named, outcome, same_at_every_split

from streamchat.accumulate import fold
from streamchat.errors import (
    ContextOverflowError,
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
    TextEvent,
    ThinkingEvent,
    Tool,
    ToolCall,
    ToolCallEvent,
    ToolCallStartEvent,
    Usage,
)
from streamchat.wire import openai_models
from streamchat.wire import openai_responses as wire
from streamchat.wire.common import Endpoint
from streamchat.wire.errors import is_not_chat_model_error

PROVIDER = "openai-responses"
ENDPOINT = Endpoint(PROVIDER, "https://api.openai.com/v1", api_key="sk-test-secret")


def run(name: str, size: Optional[int]) -> Tuple[List[Event], Optional[StreamChatError]]:
    return outcome(wire, PROVIDER, name, size)


def decode(name: str, size: Optional[int]) -> List[Event]:
    return decoded(wire, PROVIDER, name, size)


def feed(*payloads: Dict[str, Any]) -> List[Event]:
    return feed_named(wire, PROVIDER, *payloads)


def completed(usage: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {
        "type": "response.completed",
        "response": {"id": "resp_1", "model": "gpt-5", "status": "completed", "usage": usage},
    }


# --- recorded streams -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / PROVIDER).glob("*.sse")))
@pytest.mark.parametrize("size", CHUNK_SIZES[:-1])
def test_every_fixture_decodes_the_same_whatever_the_split(name: str, size: int) -> None:
    same_at_every_split(wire, PROVIDER, name, size)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_text(size: Optional[int]) -> None:
    events = decode("text.sse", size)
    assert [e.type for e in events] == ["text"] * 8 + ["usage", "done"]
    response = fold(events)
    assert response.text == "Double bubble bath \u2014 caf\u00e9 edition \u2615."
    assert response.thinking is None
    assert response.usage == Usage(
        input_tokens=37, output_tokens=11, total_tokens=48, cached_input_tokens=0,
        reasoning_tokens=0,
    )
    assert response.finish_reason == "stop"
    assert response.provider_finish_reason == "completed"
    assert response.response_id == "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"
    assert response.model == "gpt-4.1-2025-04-14"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_reasoning_summary(size: Optional[int]) -> None:
    events = decode("reasoning.sse", size)
    # Two summary parts: five and three deltas, with a paragraph break between the parts.
    assert [e.type for e in events] == ["thinking"] * 9 + ["text"] * 3 + ["usage", "done"]
    assert events[5] == ThinkingEvent(text="\n\n")
    response = fold(events)
    assert response.thinking == (
        "**Counting letters**\n\nThe word strawberry has three r's."
        "\n\n**Double-checking**\n\ns-t-r-a-w-b-e-r-r-y: r at 3, 8 and 9."
    )
    assert response.text == "There are **3** r's in \u201cstrawberry\u201d."
    assert response.usage is not None
    assert response.usage.cached_input_tokens == 1152
    assert response.usage.reasoning_tokens == 192
    assert response.usage.total_tokens == 1556
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_reasoning_text(size: Optional[int]) -> None:
    events = decode("reasoning_text.sse", size)
    assert [e.type for e in events] == ["thinking"] * 3 + ["text"] * 2 + ["usage", "done"]
    response = fold(events)
    assert response.thinking == "User asks 2+2. Answer 4."
    assert response.text == "2 + 2 = 4"
    assert response.model == "openai/gpt-oss-120b"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_parallel_calls_keyed_by_item_id_call_id_and_output_index(size: Optional[int]) -> None:
    events = decode("tool_calls.sse", size)
    assert [e.type for e in events] == (
        ["tool_call_start"] * 2 + ["tool_call_delta"] * 4 + ["tool_call"] * 2 + ["usage", "done"]
    )
    weather, time = "call_2FQdm3Br7Qb35YUBSkDR7kue", "call_9KxPq2Lm4Nn6Rr8Tt0Vv1Ww3"
    assert events[:2] == [
        ToolCallStartEvent(index=0, id=weather, name="get_weather"),
        ToolCallStartEvent(index=1, id=time, name="get_time"),
    ]
    # Interleaved fragments land on their own call whatever alias they use.
    assert [(e.index, e.id) for e in events[2:6]] == [(0, weather), (1, time)] * 2
    # The second call finished first but is released after the first: output order.
    assert events[6:8] == [
        ToolCallEvent(index=0, id=weather, name="get_weather", arguments={"city": "Paris"},
                      raw_arguments='{"city":"Paris"}'),
        ToolCallEvent(index=1, id=time, name="get_time", arguments={"timezone": "Europe/Paris"},
                      raw_arguments='{"timezone":"Europe/Paris"}'),
    ]
    response = fold(events)
    assert [c.id for c in response.tool_calls] == [weather, time]
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "completed"
    assert response.usage is not None and response.usage.total_tokens == 129


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_ids_rotated_by_a_proxy(size: Optional[int]) -> None:
    events = decode("rotated_ids.sse", size)
    assert [e.type for e in events] == (
        ["tool_call_start", "tool_call_delta", "tool_call_delta", "tool_call"] * 2
        + ["usage", "done"]
    )
    response = fold(events)
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_lookup_1", "lookup", {"q": "rust"}),
        ("call_lookup_2", "lookup", {"q": "go"}),
    ]
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_incomplete_for_max_output_tokens_is_length(size: Optional[int]) -> None:
    events = decode("incomplete.sse", size)
    assert [e.type for e in events] == ["text"] * 3 + ["usage", "done"]
    response = fold(events)
    assert response.text == "Once upon a time, in a land"
    assert response.finish_reason == "length"
    assert response.provider_finish_reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 16


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_incomplete_for_content_filter(size: Optional[int]) -> None:
    events = decode("content_filter.sse", size)
    assert [e.type for e in events] == ["text", "usage", "done"]
    response = fold(events)
    assert response.finish_reason == "content_filter"
    assert response.provider_finish_reason == "content_filter"


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_error_event_raises_with_the_providers_message(size: Optional[int]) -> None:
    events, error = run("error.sse", size)
    assert events == []
    assert isinstance(error, RateLimitError)
    assert "You exceeded your current quota" in str(error)
    assert error.provider == PROVIDER


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_response_failed_raises_after_the_text_before_it(size: Optional[int]) -> None:
    events, error = run("failed.sse", size)
    assert [e.type for e in events] == ["text", "text"]
    assert fold(events).text == "The answer is"
    assert isinstance(error, ServerError)
    assert "The server had an error processing your request" in str(error)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_stream_cut_before_the_terminal_event_is_truncated(size: Optional[int]) -> None:
    events, error = run("truncated.sse", size)
    assert [e.type for e in events] == ["text", "text"]
    assert fold(events).text == "Hello wor"
    assert isinstance(error, ProtocolError)
    assert "response.completed" in str(error)


# --- decoder details --------------------------------------------------------------------


def test_documented_flat_error_event() -> None:
    with pytest.raises(RateLimitError, match="Rate limit reached"):
        feed({"type": "error", "code": "rate_limit_exceeded",
              "message": "Rate limit reached for gpt-5", "param": None, "sequence_number": 3})


def test_context_overflow_in_response_failed() -> None:
    with pytest.raises(ContextOverflowError):
        feed({"type": "response.failed", "response": {"status": "failed", "error": {
            "code": "context_length_exceeded",
            "message": "Your input exceeds the context window of this model."}}})


def test_response_failed_without_an_error_object_is_a_server_error() -> None:
    with pytest.raises(ServerError, match="failed without saying why"):
        feed({"type": "response.failed", "response": {"status": "failed", "error": None}})


def test_done_marker_unknown_events_and_late_frames_are_ignored() -> None:
    decoder = wire.new_decoder(PROVIDER)
    assert decoder.feed(Frame("[DONE]")) == []
    assert decoder.feed(Frame('{"type":"response.web_search_call.searching"}')) == []
    done = decoder.feed(Frame(json.dumps(completed())))
    assert [e.type for e in done] == ["done"]
    assert decoder.feed(Frame('{"type":"response.output_text.delta","delta":"late"}')) == []
    assert decoder.close() == []


def test_unnamed_frames_dispatch_on_the_type_field() -> None:
    decoder = wire.new_decoder(PROVIDER)
    events = decoder.feed(Frame('{"type":"response.output_text.delta","delta":"hi"}', "message"))
    assert events == [TextEvent(text="hi")]


def test_fragments_before_any_announcement_open_the_call() -> None:
    events = feed(
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{}"},
        {"type": "response.output_item.done", "item": {
            "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "ping",
            "arguments": "{}"}},
        completed(),
    )
    assert [e.type for e in events] == ["tool_call_start", "tool_call_delta", "tool_call", "done"]
    call = events[2]
    assert isinstance(call, ToolCallEvent)
    assert (call.name, call.arguments, call.raw_arguments) == ("ping", {}, "{}")


def test_calls_sent_only_as_finished_items() -> None:
    events = feed(
        {"type": "response.output_item.done", "item": {
            "type": "function_call", "call_id": "call_1", "name": "a", "arguments": "{}"}},
        {"type": "response.output_item.done", "item": {
            "type": "function_call", "call_id": "call_2", "name": "b", "arguments": '{"x":1}'}},
        completed(),
    )
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, "call_1", "a", {}), (1, "call_2", "b", {"x": 1}),
    ]
    assert events[-1] == DoneEvent(
        finish_reason="tool_calls", provider_finish_reason="completed", response_id="resp_1",
        model="gpt-5",
    )


def test_calls_never_finished_are_completed_at_the_end() -> None:
    events = feed(
        {"type": "response.output_item.added", "output_index": 0, "item": {
            "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "a",
            "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"n":'},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "2}"},
        completed(),
    )
    assert [e.type for e in events] == (
        ["tool_call_start", "tool_call_delta", "tool_call_delta", "tool_call", "done"]
    )
    assert isinstance(events[3], ToolCallEvent) and events[3].arguments == {"n": 2}


def test_arguments_done_overrides_the_concatenated_fragments() -> None:
    events = feed(
        {"type": "response.output_item.added", "output_index": 0, "item": {
            "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "a",
            "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"n":'},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1",
         "arguments": '{"n": 3}'},
        completed(),
    )
    call = events[-2]
    assert isinstance(call, ToolCallEvent)
    assert (call.arguments, call.raw_arguments) == ({"n": 3}, '{"n": 3}')


def test_decode_body_of_a_complete_response() -> None:
    body = {
        "id": "resp_9", "object": "response", "model": "o4-mini", "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [
                {"type": "summary_text", "text": "First."},
                {"type": "summary_text", "text": "Second."}]},
            {"type": "message", "id": "msg_1", "role": "assistant", "content": [
                {"type": "output_text", "text": "Calling.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f",
             "arguments": '{"a": 1}'},
        ],
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                  "input_tokens_details": {"cached_tokens": 4},
                  "output_tokens_details": {"reasoning_tokens": 2}},
    }
    events = wire.decode_body(body, PROVIDER)
    assert [e.type for e in events] == [
        "thinking", "text", "tool_call_start", "tool_call_delta", "tool_call", "usage", "done",
    ]
    response = fold(events)
    assert response.thinking == "First.\n\nSecond."
    assert response.text == "Calling."
    assert response.tool_calls == [
        ToolCall(id="call_1", name="f", arguments={"a": 1}, raw_arguments='{"a": 1}')
    ]
    assert response.usage == Usage(input_tokens=10, output_tokens=5, total_tokens=15,
                                   cached_input_tokens=4, reasoning_tokens=2)
    assert (response.finish_reason, response.response_id) == ("tool_calls", "resp_9")


def test_decode_body_incomplete_and_failed() -> None:
    incomplete = {"object": "response", "status": "incomplete",
                  "incomplete_details": {"reason": "max_output_tokens"},
                  "output": [{"type": "message", "content": [{"type": "output_text",
                                                              "text": "Cut"}]}]}
    events = wire.decode_body(incomplete, PROVIDER)
    assert [e.type for e in events] == ["text", "done"]
    assert fold(events).finish_reason == "length"
    failed = {"object": "response", "status": "failed",
              "error": {"code": "server_error", "message": "boom"}, "output": []}
    with pytest.raises(ServerError, match="boom"):
        wire.decode_body(failed, PROVIDER)
    with pytest.raises(RateLimitError):
        wire.decode_body({"error": {"type": "requests", "code": "rate_limit_exceeded",
                                    "message": "slow down"}}, PROVIDER)


# --- requests ---------------------------------------------------------------------------

WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"]},
)


def test_conversation_becomes_input_items_and_instructions() -> None:
    request = ChatRequest(
        model="gpt-5",
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris and Rome?"),
            Message.assistant("Checking.", tool_calls=[
                ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"},
                         raw_arguments='{"city":"Paris"}'),
                ToolCall(id="call_2", name="get_weather", arguments={"city": "Rome"},
                         raw_arguments='{"city":"Rome"}'),
            ]),
            Message.tool("call_1", {"temp_c": 21}),
            Message.tool("call_2", "sunny"),
            Message.user("Thanks"),
        ],
    )
    http = wire.build_request(request, ENDPOINT)
    assert http == HttpRequest(
        method="POST",
        url="https://api.openai.com/v1/responses",
        headers={
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Authorization": "Bearer sk-test-secret",
        },
        json={
            "model": "gpt-5",
            "input": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": "Checking."},
                {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                 "arguments": '{"city":"Paris"}'},
                {"type": "function_call", "call_id": "call_2", "name": "get_weather",
                 "arguments": '{"city":"Rome"}'},
                {"type": "function_call_output", "call_id": "call_1",
                 "output": '{"temp_c": 21}'},
                {"type": "function_call_output", "call_id": "call_2", "output": "sunny"},
                {"role": "user", "content": "Thanks"},
            ],
            "instructions": "Be brief.",
            "stream": True,
        },
    )
    assert "sk-test-secret" not in repr(http)


def test_every_option_in_the_body() -> None:
    request = ChatRequest(
        model="gpt-5",
        messages=[Message.user("hi")],
        tools=[WEATHER],
        tool_choice="get_weather",
        response_format=ResponseFormat(name="answer", json_schema={"type": "object"}),
        max_tokens=500,
        temperature=0.2,
        thinking=True,
        stream=False,
        extra_body={"store": False, "temperature": 0.3, "reasoning": {"summary": "detailed"}},
    )
    http = wire.build_request(request, ENDPOINT)
    assert http.headers["Accept"] == "application/json"
    assert http.json == {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "hi"}],
        "stream": False,
        "tools": [{
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": WEATHER.parameters,
        }],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {"format": {"type": "json_schema", "name": "answer",
                            "schema": {"type": "object"}, "strict": True}},
        "max_output_tokens": 500,
        "temperature": 0.3,
        "reasoning": {"effort": "medium", "summary": "detailed"},
        "store": False,
    }


@pytest.mark.parametrize(("choice", "expected"), [
    (None, None), ("auto", "auto"), ("none", "none"), ("required", "required"),
])
def test_tool_choice_words(choice: Optional[str], expected: Optional[str]) -> None:
    request = ChatRequest(model="m", messages=[Message.user("x")], tools=[WEATHER],
                          tool_choice=choice)
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None and body.get("tool_choice") == expected


@pytest.mark.parametrize(("thinking", "effort"), [
    (True, "medium"), ("low", "low"), ("high", "high"), (512, "low"), (4000, "medium"),
    (30000, "high"), (None, None), (False, None),
])
def test_thinking_becomes_reasoning_effort(thinking: Any, effort: Optional[str]) -> None:
    request = ChatRequest(model="o3", messages=[Message.user("x")], thinking=thinking)
    body = wire.build_request(request, ENDPOINT).json
    assert body is not None
    expected = None if effort is None else {"effort": effort, "summary": "auto"}
    assert body.get("reasoning") == expected


def test_base_url_with_a_proxy_prefix_and_extra_headers() -> None:
    endpoint = Endpoint(PROVIDER, "https://gateway.example/openai/v1/", api_key=None,
                        headers={"OpenAI-Organization": "org-1"})
    http = wire.build_request(ChatRequest(model="m", messages=[Message.user("x")]), endpoint)
    assert http.url == "https://gateway.example/openai/v1/responses"
    assert http.headers == {"Content-Type": "application/json", "Accept": "text/event-stream",
                            "OpenAI-Organization": "org-1"}


# --- model routing helpers --------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"error": {"message": "This is not a chat model and thus not supported in the "
                          "v1/chat/completions endpoint. Did you mean to use v1/completions?",
               "type": "invalid_request_error", "param": "model", "code": None}},
    '{"error": {"message": "This model is only supported in v1/responses and not in '
    'v1/chat/completions.", "type": "invalid_request_error", "param": "model", "code": null}}',
    b'{"error": {"message": "model gpt-5.3-codex is not accessible via the /chat/completions '
    b'endpoint", "code": "unsupported_api_for_model"}}',
])
def test_not_a_chat_model_bodies_are_recognised(body: Any) -> None:
    assert is_not_chat_model_error(body)


@pytest.mark.parametrize("body", [
    {"error": {"message": "The model `gpt-9` does not exist or you do not have access to it.",
               "type": "invalid_request_error", "code": "model_not_found"}},
    "Not Found",
    None,
])
def test_other_404_bodies_are_not(body: Any) -> None:
    assert not is_not_chat_model_error(body)


def test_responses_only_prefixes_cover_the_documented_families() -> None:
    for prefix in ("gpt-5-codex", "codex-", "o1-pro", "o3-pro", "gpt-5-pro"):
        assert prefix in openai_models.RESPONSES_ONLY_MODEL_PREFIXES


@pytest.mark.parametrize(("model", "only"), [
    ("gpt-5-codex", True), ("gpt-5.1-codex-mini", True), ("codex-mini-latest", True),
    ("o1-pro-2025-03-19", True), ("o3-pro", True), ("gpt-5-pro", True), ("gpt-5.4-pro", True),
    ("gpt-5.4-codex", True), ("o3-deep-research", True), ("openai/gpt-5-codex", True),
    ("gpt-5", False), ("gpt-5-mini", False), ("gpt-4.1", False), ("o3", False),
    ("o3-mini", False), ("gpt-4o", False),
])
def test_responses_only_models(model: str, only: bool) -> None:
    assert openai_models.is_responses_only_model(model) is only
