"""Ollama wire adapter: request shape and recorded NDJSON streams, bytes in, events out.

Fixture sources (NDJSON has no comment syntax, so they are listed here):
- text.ndjson: the streaming /api/chat example of
  https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
- thinking.ndjson: `think: true` on qwen3, https://docs.ollama.com/capabilities/thinking
- tool_call.ndjson: the qwen3 stream of https://ollama.com/blog/streaming-tool (reasoning
  inline in <think> tags, the whole call in one line, then done_reason "stop")
- parallel_tools.ndjson: https://docs.ollama.com/capabilities/tool-calling (parallel
  calls; newer servers add an `id` and `function.index` to each call)
- think_inline.ndjson: deepseek-r1 without `think`, "</think>" and "\\n\\n" as separate
  tokens as the model emits them
- length.ndjson: done_reason "length" when options.num_predict is reached
- error.ndjson: a runner crash after the 200, as reported in ollama/ollama issues
  ("an error was encountered while running the model: unexpected EOF")
- truncated.ndjson: the connection drops in the middle of a line, before done: true
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from helpers import CHUNK_SIZES, FIXTURES, outcome, same_at_every_split

from streamchat.accumulate import fold
from streamchat.errors import ProtocolError, ServerError, StreamChatError
from streamchat.framing import Frame
from streamchat.types import (
    ChatRequest,
    ChatResponse,
    Event,
    Message,
    ResponseFormat,
    ThinkingBlock,
    Tool,
    ToolCall,
    Usage,
)
from streamchat.wire import ollama
from streamchat.wire.common import Endpoint

BASE = "http://localhost:11434"
CALL = ["tool_call_start", "tool_call_delta", "tool_call"]


def decode(name: str, size: Optional[int]) -> Tuple[List[Event], Optional[StreamChatError]]:
    return outcome(ollama, "ollama", name, size)


def check_text(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == "The sky is blue because of Rayleigh scattering."
    assert response.thinking is None
    assert (response.finish_reason, response.provider_finish_reason) == ("stop", "stop")
    assert response.model == "llama3.2"
    assert response.usage == Usage(input_tokens=26, output_tokens=282, total_tokens=308)


def check_thinking(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    times = "\u00d7"  # the multiplication sign, two bytes in UTF-8
    assert response.thinking == (
        f"Okay, the user asks for 17 {times} 23. 17 {times} 20 = 340, 17 {times} 3 = 51, so 391."
    )
    assert response.text == f"17 {times} 23 = **391**"
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input_tokens=17, output_tokens=62, total_tokens=79)


def check_tool_call(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == ""
    assert response.thinking == (
        "\nOkay, the user wants the weather in Toronto. I should call get_current_weather"
        " with location Toronto and format celsius"
    )
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_0", "get_current_weather", {"format": "celsius", "location": "Toronto"})
    ]
    assert (response.finish_reason, response.provider_finish_reason) == ("tool_calls", "stop")
    assert response.usage == Usage(input_tokens=224, output_tokens=95, total_tokens=319)


def check_parallel_tools(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert [(c.id, c.name, c.arguments["city"]) for c in response.tool_calls] == [
        ("call_hfb1qz1e", "get_temperature", "New York"),
        ("call_6w3fxq9k", "get_conditions", "New York"),
        ("call_0c2ubgwm", "get_temperature", "London"),
        ("call_pq3x7n5d", "get_conditions", "London"),
    ]
    assert response.finish_reason == "tool_calls"


def check_think_inline(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.thinking == "\nStrawberry: s-t-r-a-w-b-e-r-r-y, three r's.\n"
    # The "\n\n" token after </think> is not part of the answer.
    assert response.text == "There are **3** r's."
    assert response.model == "deepseek-r1:8b"


def check_length(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    # The last line carries text as well as done: true; it is not lost.
    assert response.text == "Once upon a"
    assert (response.finish_reason, response.provider_finish_reason) == ("length", "length")


def check_error(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert isinstance(error, ServerError) and error.retryable
    assert "unexpected EOF" in str(error)
    assert error.provider == "ollama"
    assert response.text == "Sure, here"


def check_truncated(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert isinstance(error, ProtocolError)
    assert response.text == "Hello!"
    assert response.finish_reason is None


def check_logprobs_unread(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None and response.text == "Hello world" and response.logprobs is None


CASES: Dict[str, Tuple[List[str], Callable[[ChatResponse, Optional[StreamChatError]], None]]] = {
    "text.ndjson": (["text"] * 9 + ["usage", "done"], check_text),
    "thinking.ndjson": (["thinking"] * 8 + ["text"] * 3 + ["usage", "done"], check_thinking),
    "tool_call.ndjson": (["thinking"] * 11 + CALL + ["usage", "done"], check_tool_call),
    "parallel_tools.ndjson": (["thinking"] + CALL * 4 + ["usage", "done"], check_parallel_tools),
    "think_inline.ndjson": (["thinking"] * 8 + ["text"] * 3 + ["usage", "done"],
                            check_think_inline),
    "length.ndjson": (["text"] * 3 + ["usage", "done"], check_length),
    "error.ndjson": (["text", "text"], check_error),
    "truncated.ndjson": (["text", "text"], check_truncated),
    # Not asked for, the logprobs a stream carries are not read (tests/test_logprobs.py).
    "logprobs.ndjson": (["text", "text", "usage", "done"], check_logprobs_unread),
}


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_decodes_the_same_at_every_chunk_size(name: str, size: Optional[int]) -> None:
    expected_types, check = CASES[name]
    events, error = same_at_every_split(ollama, "ollama", name, size)
    assert [e.type for e in events] == expected_types
    check(fold(events), error)


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in (FIXTURES / "ollama").glob("*.ndjson")) == sorted(CASES)


def test_synthesised_ids_are_unique_and_stable_within_a_response() -> None:
    first, _ = decode("tool_call.ndjson", 7)
    again, _ = decode("tool_call.ndjson", None)
    ids = [e.id for e in first if e.type == "tool_call"]
    assert ids == [e.id for e in again if e.type == "tool_call"] == ["call_0"]
    decoder = ollama.new_decoder("ollama")
    line = json.dumps(
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "a", "arguments": {}}},
                    {"function": {"name": "b", "arguments": {"x": 1}}},
                ],
            },
            "done": False,
        }
    )
    calls = [e for e in decoder.feed(Frame(line)) if e.type == "tool_call"]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_0", "a", {}),
        ("call_1", "b", {"x": 1}),
    ]


def test_lines_after_done_are_ignored() -> None:
    decoder = ollama.new_decoder("ollama")
    decoder.feed(Frame('{"model":"m","message":{"role":"assistant","content":"x"},"done":true}'))
    late = '{"message":{"role":"assistant","content":"late"},"done":false}'
    assert decoder.feed(Frame(late)) == []
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("load", "other"),
        ("unload", "other"),
        (None, "stop"),
    ],
)
def test_done_reasons(reason: Optional[str], expected: str) -> None:
    body: Dict[str, Any] = {"model": "llama3.2", "message": {"role": "assistant", "content": ""},
                            "done": True}
    if reason is not None:
        body["done_reason"] = reason
    done = ollama.decode_body(body, "ollama")[-1]
    assert done.type == "done"
    assert (done.finish_reason, done.provider_finish_reason, done.model) == (
        expected, reason, "llama3.2"
    )
    assert done.usage is None


def test_decode_body_of_the_documented_tool_call_response() -> None:
    body = {
        "model": "llama3.2",
        "created_at": "2024-07-22T20:33:28.123648Z",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_current_weather",
                              "arguments": {"format": "celsius", "location": "Paris, FR"}}}
            ],
        },
        "done_reason": "stop",
        "done": True,
        "total_duration": 885095291,
        "load_duration": 3753500,
        "prompt_eval_count": 122,
        "prompt_eval_duration": 328493000,
        "eval_count": 33,
        "eval_duration": 552222000,
    }
    events = ollama.decode_body(body, "ollama")
    assert [e.type for e in events] == [*CALL, "usage", "done"]
    response = fold(events)
    assert response.tool_calls[0].arguments == {"format": "celsius", "location": "Paris, FR"}
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=122, output_tokens=33, total_tokens=155)


def test_decode_body_with_an_error_raises() -> None:
    with pytest.raises(StreamChatError) as caught:
        ollama.decode_body({"error": "model 'llama9' not found"}, "ollama")
    assert "llama9" in str(caught.value)


def test_decode_body_that_is_not_done_is_truncated() -> None:
    with pytest.raises(ProtocolError):
        ollama.decode_body({"message": {"role": "assistant", "content": "x"}, "done": False},
                           "ollama")


# Requests -----------------------------------------------------------------------------


def endpoint(**kwargs: Any) -> Endpoint:
    return Endpoint(provider="ollama", base_url=BASE, **kwargs)


WEATHER = Tool(
    name="get_temperature",
    description="Get the current temperature for a city",
    parameters={
        "type": "object",
        "required": ["city"],
        "properties": {"city": {"type": "string", "description": "The name of the city"}},
    },
)
SCHEMA = {
    "type": "object",
    "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
    "required": ["age", "available"],
}


def test_build_request_full_body() -> None:
    request = ChatRequest(
        model="qwen3",
        messages=[
            Message.system("Answer briefly."),
            Message.user("Temperature in New York and London?"),
            Message(
                role="assistant",
                content="",
                thinking=[ThinkingBlock(text="Two cities.")],
                tool_calls=[
                    ToolCall(id="call_0", name="get_temperature", arguments={"city": "New York"}),
                    ToolCall(id="call_1", name="get_temperature", arguments={"city": "London"}),
                ],
            ),
            Message.tool("call_0", "22°C", name="get_temperature"),
            Message.tool("call_1", "15°C"),
        ],
        tools=[WEATHER],
        max_tokens=256,
        temperature=0,
        thinking=True,
        response_format=ResponseFormat(json_schema=SCHEMA),
        extra_body={"keep_alive": "10m", "options": {"num_ctx": 8192}},
    )
    http = ollama.build_request(request, endpoint())
    assert (http.method, http.url) == ("POST", "http://localhost:11434/api/chat")
    assert http.headers == {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
    assert http.json == {
        "model": "qwen3",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Temperature in New York and London?"},
            {
                "role": "assistant",
                "content": "",
                "thinking": "Two cities.",
                "tool_calls": [
                    {"function": {"name": "get_temperature", "arguments": {"city": "New York"}}},
                    {"function": {"name": "get_temperature", "arguments": {"city": "London"}}},
                ],
            },
            {"role": "tool", "content": "22°C", "tool_name": "get_temperature"},
            {"role": "tool", "content": "15°C", "tool_name": "get_temperature"},
        ],
        "stream": True,
        "think": True,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_temperature",
                    "description": "Get the current temperature for a city",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
        "format": SCHEMA,
        "options": {"num_predict": 256, "temperature": 0, "num_ctx": 8192},
        "keep_alive": "10m",
    }


def test_build_request_minimal_body_has_no_keep_alive_or_options() -> None:
    request = ChatRequest(model="llama3.2", messages=[Message.user("hi")], stream=False)
    http = ollama.build_request(request, endpoint())
    assert http.json == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    assert http.headers["Accept"] == "application/json"
    assert "Authorization" not in http.headers


@pytest.mark.parametrize(
    ("thinking", "think"),
    [(True, True), (False, False), ("low", "low"), ("high", "high"), (1024, True), (0, False)],
)
def test_think(thinking: Any, think: Any) -> None:
    request = ChatRequest(model="gpt-oss:20b", messages=[Message.user("hi")], thinking=thinking)
    value = ollama.build_request(request, endpoint()).json["think"]
    assert (value, type(value)) == (think, type(think))


def test_tool_choice_none_withholds_the_tools() -> None:
    request = ChatRequest(model="qwen3", messages=[Message.user("hi")], tools=[WEATHER],
                          tool_choice="none")
    assert "tools" not in ollama.build_request(request, endpoint()).json


def test_a_key_is_sent_as_bearer_for_ollama_cloud() -> None:
    request = ChatRequest(model="gpt-oss:120b", messages=[Message.user("hi")])
    http = ollama.build_request(
        request, Endpoint(provider="ollama", base_url="https://ollama.com", api_key="sk-o")
    )
    assert http.url == "https://ollama.com/api/chat"
    assert http.headers["Authorization"] == "Bearer sk-o"
    assert "sk-o" not in repr(http)
