"""Gemini wire adapter: request shape and recorded streams, bytes in, events out.

Fixture sources are on each fixture's `: source` line. The 429 bodies follow the ones
quoted in https://github.com/google-gemini/gemini-cli/issues/8437 (object with
google.rpc details) and https://github.com/google-gemini/gemini-cli/issues/14831 (the
same error wrapped in a JSON array).
"""

from __future__ import annotations

import enum
import json
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple

import pytest
from helpers import CHUNK_SIZES, FIXTURES, fixture, outcome, same_at_every_split
from pydantic import BaseModel, ConfigDict, Field

from streamchat.accumulate import fold
from streamchat.errors import (
    ContentFilterError,
    InvalidRequestError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    StreamChatError,
)
from streamchat.framing import Frame
from streamchat.types import (
    ChatRequest,
    ChatResponse,
    Citation,
    Event,
    Message,
    ResponseFormat,
    ServerToolCall,
    ThinkingBlock,
    Tool,
    ToolCall,
    Usage,
)
from streamchat.wire import gemini
from streamchat.wire.common import Endpoint
from streamchat.wire.errors import error_from_response

BASE = "https://generativelanguage.googleapis.com/v1beta"
KEY = "AIzaSy-test-key-0123456789"


def decode(name: str, size: Optional[int]) -> Tuple[List[Event], Optional[StreamChatError]]:
    return outcome(gemini, "gemini", name, size)


def check_text(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == (
        "Certainly! I'll create a simple \"Hello, World!\" page where each letter has a "
        "different color using inline styles for simplicity.  Each letter will be wrapped"
    )
    assert response.thinking is None
    assert response.finish_reason == "stop"
    assert response.provider_finish_reason == "STOP"
    assert response.model == "gemini-1.5-pro-002"
    assert response.usage == Usage(input_tokens=399, output_tokens=191, total_tokens=590)


def check_thinking(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.thinking is not None
    assert response.thinking.startswith("**Counting the letters**")
    assert "two after the e" in response.thinking
    assert response.text == "There are **three** r's in \"strawberry\"."
    assert response.finish_reason == "stop"
    assert response.response_id == "mJ0SacSnLaGrz7IPqZ6b0Qw"
    assert response.model == "gemini-2.5-flash"
    # candidatesTokenCount leaves thoughts out; output_tokens puts them back in.
    assert response.usage == Usage(
        input_tokens=11, output_tokens=220, total_tokens=231, reasoning_tokens=206
    )


def check_tool_calls(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == ""
    assert response.thinking is not None and "get_weather twice" in response.thinking
    first, second = response.tool_calls
    assert (first.id, first.name, first.arguments) == (
        "call_0", "get_weather", {"city": "Paris", "unit": "celsius"}
    )
    assert (second.id, second.name, second.arguments) == (
        "call_1", "get_weather", {"city": "London", "unit": "celsius"}
    )
    assert json.loads(first.raw_arguments) == first.arguments
    assert first.signature is not None and first.signature.startswith("CiQBcsjafD")
    assert second.signature is None
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "STOP"
    assert response.usage == Usage(
        input_tokens=72, output_tokens=118, total_tokens=190, reasoning_tokens=88
    )


def check_length(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == "Rayleigh scattering makes shorter wavelengths scatter more"
    assert response.finish_reason == "length"
    assert response.provider_finish_reason == "MAX_TOKENS"


def check_safety_finish(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == "Here is how the lock mechanism"
    assert response.finish_reason == "content_filter"
    assert response.provider_finish_reason == "SAFETY"
    assert response.usage == Usage(input_tokens=14, output_tokens=6, total_tokens=20)


def check_prompt_blocked(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert isinstance(error, ContentFilterError)
    assert isinstance(error, InvalidRequestError) and not error.retryable
    assert "PROHIBITED_CONTENT" in str(error)
    assert error.provider == "gemini"
    assert error.body["promptFeedback"] == {"blockReason": "PROHIBITED_CONTENT"}
    assert response.text == ""


def check_error(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert isinstance(error, ServerError) and error.retryable
    assert "The model is overloaded" in str(error)
    assert response.text == "The first step is"
    assert response.finish_reason is None


def check_truncated(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert isinstance(error, ProtocolError)
    assert "finishReason" in str(error)
    # The unterminated last event is dropped by the framing, not half-parsed.
    assert response.text == "Once upon a time, in a kingdom by the sea,"
    assert response.finish_reason is None


def check_logprobs_unread(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None and response.text == "Hello world!" and response.logprobs is None


CALL = ["tool_call_start", "tool_call_delta", "tool_call"]
def check_grounding(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    # NOTE: groundingSupports count UTF-8 bytes; "69°F" makes bytes and characters differ.
    assert error is None
    first = response.citations[0]
    assert (first.start, first.end, first.title) == (
        235, 371, "Weather information for San Francisco, CA, US"
    )
    assert response.text[first.start:first.end] == (
        "As of Tuesday afternoon, the temperature is around 69°F (21°C), with a real feel of "
        "about 76°F (24°C) and humidity at approximately 68%."
    )
    assert [c.source for c in response.citations] == ["grounding_chunk"] * 9
    assert response.server_tool_calls == [
        ServerToolCall(id="google_search", name="google_search",
                       input={"queries": ["weather in San Francisco today"]})
    ]


def check_url_context(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.text == "Pydantic AI Gateway is now available!"
    # NOTE: the segment has no startIndex: proto3 leaves out a 0.
    assert response.citations == [
        Citation(url="https://ai.pydantic.dev", title="Pydantic AI", start=0, end=37,
                 source="grounding_chunk")
    ]
    (run,) = response.server_tool_calls
    assert (run.name, run.input) == ("url_context", {"urls": ["https://ai.pydantic.dev"]})
    assert run.output[0]["urlRetrievalStatus"] == "URL_RETRIEVAL_STATUS_SUCCESS"


def check_code_execution(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    (run,) = response.server_tool_calls
    assert (run.id, run.name) == ("8xju7mua", "code_execution")
    assert run.input == {
        "language": "PYTHON", "code": "result = 65465 - 6544 * 65464 - 6 + 1.02255\nprint(result)"
    }
    assert run.output == {"outcome": "OUTCOME_OK", "output": "-428330955.97745\n"}
    assert response.text.endswith("is **-428,330,955.97745**.")


def check_aimock_function_call(response: ChatResponse, error: Optional[StreamChatError]) -> None:
    assert error is None
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "FUNCTION_CALL"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"location": "San Francisco", "unit": "fahrenheit"})]


CASES: Dict[str, Tuple[List[str], Callable[[ChatResponse, Optional[StreamChatError]], None]]] = {
    "text.sse": (["text", "usage", "text", "text", "usage", "done"], check_text),
    "thinking.sse": (
        ["thinking", "usage", "thinking", "usage", "text", "usage", "text", "usage", "done"],
        check_thinking,
    ),
    "tool_calls.sse": (["thinking", "usage", *CALL, *CALL, "usage", "done"], check_tool_calls),
    "aimock_function_call.sse": ([*CALL, "usage", "done"], check_aimock_function_call),
    "length.sse": (["text", "usage", "text", "usage", "done"], check_length),
    "safety_finish.sse": (["text", "usage", "usage", "done"], check_safety_finish),
    "prompt_blocked.sse": ([], check_prompt_blocked),
    "error.sse": (["text", "usage"], check_error),
    "truncated.sse": (["text", "usage", "text"], check_truncated),
    "google_search_grounding.sse": (
        ["text", "usage"] * 9 + ["text", "server_tool_call", *["citation"] * 9, "usage", "done"],
        check_grounding,
    ),
    "url_context.sse": (
        ["text", "server_tool_call", "server_tool_result", "usage", "text", "citation", "usage",
         "done"],
        check_url_context,
    ),
    "code_execution.sse": (
        ["server_tool_call", "usage", "server_tool_result", "usage", "text", "usage", "text",
         "usage", "text", "usage", "usage", "done"],
        check_code_execution,
    ),
    # Not asked for, the logprobs a stream carries are not read (tests/test_logprobs.py).
    "logprobs.sse": (["text", "usage", "text", "usage", "done"], check_logprobs_unread),
}


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_decodes_the_same_at_every_chunk_size(name: str, size: Optional[int]) -> None:
    expected_types, check = CASES[name]
    events, error = same_at_every_split(gemini, "gemini", name, size)
    assert [e.type for e in events] == expected_types
    check(fold(events), error)


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in (FIXTURES / "gemini").glob("*.sse")) == sorted(CASES)


def test_frames_after_the_finish_reason_are_ignored() -> None:
    # text.sse ends with a stray MALFORMED_FUNCTION_CALL chunk recorded after STOP.
    events, _ = decode("text.sse", None)
    done = [e for e in events if e.type == "done"]
    assert len(done) == 1 and done[0].provider_finish_reason == "STOP"


def test_usage_events_carry_the_running_report() -> None:
    events, _ = decode("thinking.sse", None)
    reports = [e.usage for e in events if e.type == "usage"]
    assert [u.output_tokens for u in reports] == [102, 206, 213, 220]
    assert [u.total_tokens for u in reports] == [113, 217, 224, 231]


def test_function_call_ids_from_gemini_are_kept() -> None:
    decoder = gemini.new_decoder("gemini")
    chunk = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"functionCall": {"id": "fc-7", "name": "lookup", "args": {"q": "x"}}},
                        {"functionCall": {"name": "lookup", "args": {"q": "y"}}},
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
            }
        ]
    }
    events = decoder.feed(Frame(json.dumps(chunk)))
    assert [e.id for e in events if e.type == "tool_call"] == ["fc-7", "call_1"]


# Errors and their retry delay ---------------------------------------------------------


def test_429_body_with_retry_info_gives_rate_limit_error_with_retry_after() -> None:
    body = fixture("gemini", "error_429.json")
    error = error_from_response("gemini", 429, body, endpoint="models/gemini-2.5-flash")
    assert isinstance(error, RateLimitError) and error.retryable
    assert error.retry_after == 37.0
    assert error.status_code == 429
    assert "exceeded your current quota" in str(error)


def test_429_body_wrapped_in_an_array_still_carries_retry_after() -> None:
    body = json.loads(fixture("gemini", "error_429_array.json"))
    error = error_from_response("gemini", 429, body)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 1.5


def test_retry_info_in_a_stream_error_reaches_the_exception() -> None:
    decoder = gemini.new_decoder("gemini")
    data = fixture("gemini", "error_429.json").decode()
    with pytest.raises(RateLimitError) as caught:
        decoder.feed(Frame(data))
    assert caught.value.retry_after == 37.0
    assert caught.value.provider == "gemini"


def test_error_array_frame_raises() -> None:
    decoder = gemini.new_decoder("gemini")
    data = fixture("gemini", "error_429_array.json").decode()
    with pytest.raises(RateLimitError) as caught:
        decoder.feed(Frame(data))
    assert caught.value.retry_after == 1.5


# Non-streamed bodies ------------------------------------------------------------------


def test_decode_body_of_a_generate_content_response() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "The user wants the time.", "thought": True},
                        {"text": "Let me check."},
                        {"functionCall": {"name": "clock", "args": {}}, "thoughtSignature": "c2ln"},
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 8,
            "totalTokenCount": 30,
            "cachedContentTokenCount": 4,
            "thoughtsTokenCount": 10,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-123",
    }
    events = gemini.decode_body(body, "gemini")
    assert [e.type for e in events] == ["thinking", "text", *CALL, "usage", "done"]
    response = fold(events)
    assert response.text == "Let me check."
    assert response.thinking == "The user wants the time."
    assert response.tool_calls == [
        ToolCall(id="call_0", name="clock", arguments={}, raw_arguments="{}", signature="c2ln")
    ]
    assert response.usage == Usage(
        input_tokens=12,
        output_tokens=18,
        total_tokens=30,
        cached_input_tokens=4,
        reasoning_tokens=10,
    )
    assert (response.finish_reason, response.response_id) == ("tool_calls", "resp-123")


def test_decode_body_of_a_json_array_stream() -> None:
    body = [
        {"candidates": [{"content": {"parts": [{"text": "2"}], "role": "model"}}]},
        {"candidates": [{"content": {"parts": [{"text": " + 2 = 4"}], "role": "model"},
                         "finishReason": "STOP"}]},
    ]
    response = fold(gemini.decode_body(body, "gemini"))
    assert (response.text, response.finish_reason) == ("2 + 2 = 4", "stop")


def test_decode_body_without_finish_reason_is_truncated() -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "half"}], "role": "model"}}]}
    with pytest.raises(ProtocolError):
        gemini.decode_body(body, "gemini")


def test_decode_body_with_an_error_object_raises_the_typed_error() -> None:
    body = {
        "error": {"code": 404, "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}
    }
    with pytest.raises(StreamChatError) as caught:
        gemini.decode_body(body, "gemini")
    assert isinstance(caught.value, NotFoundError)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "other"),
        ("OTHER", "other"),
        ("SOMETHING_NEW", "other"),
    ],
)
def test_finish_reasons(reason: str, expected: str) -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
    done = gemini.decode_body(body, "gemini")[-1]
    assert done.type == "done"
    assert (done.finish_reason, done.provider_finish_reason) == (expected, reason)


# Requests -----------------------------------------------------------------------------


def endpoint(**kwargs: Any) -> Endpoint:
    return Endpoint(provider="gemini", base_url=BASE, api_key=KEY, **kwargs)


class Unit(str, enum.Enum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


class Place(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field(description="City name")
    country: Optional[str] = None


class Forecast(BaseModel):
    """Look up the weather."""

    places: List[Place]
    unit: Unit = Unit.celsius
    kind: Literal["forecast"] = "forecast"


PLACE_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name", "title": "City"},
        "country": {"nullable": True, "type": "string", "default": None, "title": "Country"},
    },
    "required": ["city"],
    "title": "Place",
}
FORECAST_SCHEMA = {
    "type": "object",
    "properties": {
        "places": {"type": "array", "items": PLACE_SCHEMA, "title": "Places"},
        "unit": {
            "type": "string",
            "enum": ["celsius", "fahrenheit"],
            "title": "Unit",
            "default": "celsius",
        },
        "kind": {"type": "string", "enum": ["forecast"], "default": "forecast", "title": "Kind"},
    },
    "required": ["places"],
}


def test_pydantic_schema_is_rewritten_in_geminis_dialect() -> None:
    schema = Tool.from_model(Forecast).parameters
    assert "$defs" in schema  # what Gemini would reject ...
    assert gemini.gemini_schema(schema) == FORECAST_SCHEMA  # ... and what it gets


def test_recursive_and_combined_schemas() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "type": "object",
        "properties": {
            "root": {"$ref": "#/$defs/Node"},
            "id": {"type": ["string", "integer", "null"]},
            "mode": {"allOf": [{"enum": ["a", "b", None]}], "description": "Mode"},
            "size": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        },
        "additionalProperties": False,
    }
    assert gemini.gemini_schema(schema) == {
        "type": "object",
        "properties": {
            "root": {"type": "object", "properties": {"child": {"type": "object"}}},
            "id": {"nullable": True, "anyOf": [{"type": "string"}, {"type": "integer"}]},
            "mode": {"nullable": True, "enum": ["a", "b"], "description": "Mode"},
            "size": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
    }


def conversation() -> List[Message]:
    return [
        Message.system("You are terse."),
        Message.user("Weather in Paris and London?"),
        Message(
            role="assistant",
            content="",
            tool_calls=[
                ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"},
                         raw_arguments='{"city": "Paris"}', signature="c2lnbmF0dXJl"),
                ToolCall(id="call_1", name="get_weather", arguments={"city": "London"},
                         raw_arguments='{"city": "London"}'),
            ],
            thinking=[ThinkingBlock(text="two calls")],
        ),
        Message.tool("call_0", {"temp": 21, "sky": "clear"}, name="get_weather"),
        Message.tool("call_1", "14 degrees and rain"),
        Message.assistant("Paris 21°C and clear; London 14°C and rain."),
        Message.user("Thanks!"),
    ]


def test_build_request_full_body() -> None:
    request = ChatRequest(
        model="gemini-2.5-flash",
        messages=conversation(),
        tools=[Tool.from_model(Forecast, name="forecast"),
               Tool(name="get_weather", description="Current weather")],
        tool_choice="forecast",
        max_tokens=512,
        temperature=0.2,
        thinking=2048,
        response_format=ResponseFormat(json_schema=Place.model_json_schema()),
        extra_body={
            "safetySettings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
            ],
            "generationConfig": {"topP": 0.9},
        },
    )
    http = gemini.build_request(request, endpoint())
    assert http.method == "POST"
    assert http.url == f"{BASE}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert http.json == {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris and London?"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "c2lnbmF0dXJl"},
                    {"functionCall": {"name": "get_weather", "args": {"city": "London"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather",
                                          "response": {"temp": 21, "sky": "clear"}}},
                    {"functionResponse": {"name": "get_weather",
                                          "response": {"result": "14 degrees and rain"}}},
                ],
            },
            {"role": "model", "parts": [{"text": "Paris 21°C and clear; London 14°C and rain."}]},
            {"role": "user", "parts": [{"text": "Thanks!"}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "forecast", "description": "Look up the weather.",
                     "parameters": FORECAST_SCHEMA},
                    {"name": "get_weather", "description": "Current weather"},
                ]
            }
        ],
        "toolConfig": {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["forecast"]}
        },
        "generationConfig": {
            "maxOutputTokens": 512,
            "temperature": 0.2,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048},
            "responseMimeType": "application/json",
            "responseSchema": PLACE_SCHEMA,
            "topP": 0.9,
        },
        "safetySettings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
        ],
    }


def test_build_request_minimal_body() -> None:
    request = ChatRequest(model="gemini-2.5-flash", messages=[Message.user("hi")])
    assert gemini.build_request(request, endpoint()).json == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
    }


def test_key_travels_in_the_header_never_in_the_url() -> None:
    request = ChatRequest(model="gemini-2.5-flash", messages=[Message.user("hi")])
    http = gemini.build_request(request, endpoint(headers={"x-goog-user-project": "p1"}))
    assert KEY not in http.url and "key=" not in http.url
    assert KEY not in repr(http)
    assert http.headers == {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "x-goog-api-key": KEY,
        "x-goog-user-project": "p1",
    }


def test_non_streamed_request_uses_generate_content() -> None:
    request = ChatRequest(model="gemini-2.5-flash", messages=[Message.user("hi")], stream=False)
    http = gemini.build_request(request, endpoint())
    assert http.url == f"{BASE}/models/gemini-2.5-flash:generateContent"
    assert http.headers["Accept"] == "application/json"
    assert http.headers["x-goog-api-key"] == KEY


def test_tuned_model_path_is_kept() -> None:
    request = ChatRequest(model="tunedModels/my-model-42", messages=[Message.user("hi")])
    http = gemini.build_request(request, endpoint())
    assert http.url == f"{BASE}/tunedModels/my-model-42:streamGenerateContent?alt=sse"


@pytest.mark.parametrize(
    ("model", "thinking", "config"),
    [
        ("gemini-2.5-flash", True, {"includeThoughts": True}),
        ("gemini-2.5-flash", False, {"thinkingBudget": 0}),
        ("gemini-2.5-flash", 0, {"thinkingBudget": 0}),
        ("gemini-2.5-pro", 4096, {"includeThoughts": True, "thinkingBudget": 4096}),
        ("gemini-2.5-pro", "high", {"includeThoughts": True, "thinkingBudget": 24576}),
        ("gemini-2.5-flash-lite", "minimal", {"includeThoughts": True, "thinkingBudget": 512}),
        ("gemini-3-pro-preview", "low", {"includeThoughts": True, "thinkingLevel": "low"}),
        ("gemini-3-flash-preview", "medium", {"includeThoughts": True, "thinkingLevel": "medium"}),
    ],
)
def test_thinking_config(model: str, thinking: Any, config: Dict[str, Any]) -> None:
    request = ChatRequest(model=model, messages=[Message.user("hi")], thinking=thinking)
    assert gemini.build_request(request, endpoint()).json["generationConfig"] == {
        "thinkingConfig": config
    }


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (None, None),
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("none", {"functionCallingConfig": {"mode": "NONE"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        ("clock", {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["clock"]}}),
    ],
)
def test_tool_choice(choice: Optional[str], config: Optional[Dict[str, Any]]) -> None:
    request = ChatRequest(
        model="gemini-2.5-flash",
        messages=[Message.user("time?")],
        tools=[Tool(name="clock")],
        tool_choice=choice,
    )
    body = gemini.build_request(request, endpoint()).json
    assert body["tools"] == [{"functionDeclarations": [{"name": "clock"}]}]
    assert body.get("toolConfig") == config


def test_tool_result_that_is_not_an_object_is_wrapped() -> None:
    request = ChatRequest(
        model="gemini-2.5-flash",
        messages=[
            Message.user("x"),
            Message.assistant(tool_calls=[ToolCall(id="a", name="count", arguments={})]),
            Message.tool("a", [1, 2, 3]),
        ],
    )
    contents = gemini.build_request(request, endpoint()).json["contents"]
    assert contents[-1] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "count", "response": {"result": "[1, 2, 3]"}}}],
    }


def test_an_empty_assistant_turn_is_left_out() -> None:
    interrupted = Message(role="assistant", content="", interrupted=True)
    request = ChatRequest(
        model="gemini-2.5-flash",
        messages=[Message.user("a"), interrupted, Message.user("b")],
    )
    assert gemini.build_request(request, endpoint()).json["contents"] == [
        {"role": "user", "parts": [{"text": "a"}]},
        {"role": "user", "parts": [{"text": "b"}]},
    ]
