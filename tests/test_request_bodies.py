"""Every wire's request body, pinned exactly: the defaults, then each option alone.

Setting every option at once hides an option that is dropped or sent under the wrong name
when another option happens to produce the same key; one at a time, each option must
change exactly what its provider documents and nothing else.

Sources: https://platform.openai.com/docs/api-reference/chat/create,
https://platform.openai.com/docs/api-reference/responses/create,
https://docs.anthropic.com/en/api/messages,
https://ai.google.dev/api/generate-content, https://github.com/ollama/ollama/blob/main/docs/api.md
"""

from typing import Any, Dict

import pytest

from streamchat.providers import wire_format
from streamchat.types import ChatRequest, Message, ResponseFormat, Tool
from streamchat.wire.common import Endpoint

BASE_URLS = {
    "openai": "https://api.example.test/v1",
    "openai-responses": "https://api.example.test/v1",
    "anthropic": "https://api.example.test/v1",
    "gemini": "https://api.example.test/v1beta",
    "ollama": "http://127.0.0.1:11434",
}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = Tool(name="get_weather", description="Weather in a city.", parameters=SCHEMA)
ANSWER = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
          "additionalProperties": False}
FORMAT = ResponseFormat(name="Answer", json_schema=ANSWER)
BASE = ChatRequest(model="m-1", messages=[Message.user("Hi")])

DEFAULTS: Dict[str, Any] = {
    "openai": ("chat/completions", {
        "model": "m-1", "messages": [{"role": "user", "content": "Hi"}], "stream": True,
        # NOTE: without include_usage a streamed answer carries no token counts.
        "stream_options": {"include_usage": True},
    }),
    "openai-responses": ("responses", {
        "model": "m-1", "input": [{"role": "user", "content": "Hi"}], "stream": True,
    }),
    "anthropic": ("messages", {
        "model": "m-1", "max_tokens": 4096, "stream": True,  # max_tokens is required
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }),
    "gemini": ("models/m-1:streamGenerateContent?alt=sse", {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
    }),
    "ollama": ("api/chat", {
        "model": "m-1", "messages": [{"role": "user", "content": "Hi"}], "stream": True,
    }),
}

TOOLS = {
    "openai": [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city.", "parameters": SCHEMA}}],
    "openai-responses": [{"type": "function", "name": "get_weather",
                          "description": "Weather in a city.", "parameters": SCHEMA}],
    "anthropic": [{"name": "get_weather", "description": "Weather in a city.",
                   "input_schema": SCHEMA}],
    "gemini": [{"functionDeclarations": [{"name": "get_weather",
                                          "description": "Weather in a city.",
                                          "parameters": SCHEMA}]}],
    "ollama": [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city.", "parameters": SCHEMA}}],
}

OPTIONS: Dict[str, Dict[str, Any]] = {
    "max_tokens": {"max_tokens": 256},
    "temperature": {"temperature": 0.5},
    "temperature_zero": {"temperature": 0.0},
    "thinking_on": {"thinking": True},
    "thinking_budget": {"thinking": 2048},
    "thinking_effort": {"thinking": "high"},
    "tools": {"tools": [TOOL]},
    "tool_choice_auto": {"tools": [TOOL], "tool_choice": "auto"},
    "tool_choice_none": {"tools": [TOOL], "tool_choice": "none"},
    "tool_choice_required": {"tools": [TOOL], "tool_choice": "required"},
    "tool_choice_named": {"tools": [TOOL], "tool_choice": "get_weather"},
    "response_format": {"response_format": FORMAT},
    "not_streamed": {"stream": False},
    "extra_body": {"extra_body": {"user": "u-1", "seed": 7}},
    "system": {"messages": [Message.system("Be brief."), Message.user("Hi")]},
}

# What each option changes in the default body, per wire: keys set, and keys it removes
# (listed under "-"). A different URL path is under "path".
CHANGES: Dict[str, Dict[str, Dict[str, Any]]] = {
    "openai": {
        "max_tokens": {"max_completion_tokens": 256},
        "temperature": {"temperature": 0.5},
        "temperature_zero": {"temperature": 0.0},
        "thinking_on": {"reasoning_effort": "medium"},
        "thinking_budget": {"reasoning_effort": "medium"},
        "thinking_effort": {"reasoning_effort": "high"},
        "tools": {"tools": TOOLS["openai"]},
        "tool_choice_auto": {"tools": TOOLS["openai"], "tool_choice": "auto"},
        "tool_choice_none": {"tools": TOOLS["openai"], "tool_choice": "none"},
        "tool_choice_required": {"tools": TOOLS["openai"], "tool_choice": "required"},
        "tool_choice_named": {"tools": TOOLS["openai"], "tool_choice": {
            "type": "function", "function": {"name": "get_weather"}}},
        "response_format": {"response_format": {"type": "json_schema", "json_schema": {
            "name": "Answer", "schema": ANSWER, "strict": True}}},
        # NOTE: stream_options is only allowed with stream=true.
        "not_streamed": {"stream": False, "-": ["stream_options"]},
        "extra_body": {"user": "u-1", "seed": 7},
        "system": {"messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Hi"}]},
    },
    "openai-responses": {
        "max_tokens": {"max_output_tokens": 256},
        "temperature": {"temperature": 0.5},
        "temperature_zero": {"temperature": 0.0},
        "thinking_on": {"reasoning": {"effort": "medium", "summary": "auto"}},
        "thinking_budget": {"reasoning": {"effort": "medium", "summary": "auto"}},
        "thinking_effort": {"reasoning": {"effort": "high", "summary": "auto"}},
        "tools": {"tools": TOOLS["openai-responses"]},
        "tool_choice_auto": {"tools": TOOLS["openai-responses"], "tool_choice": "auto"},
        "tool_choice_none": {"tools": TOOLS["openai-responses"], "tool_choice": "none"},
        "tool_choice_required": {"tools": TOOLS["openai-responses"], "tool_choice": "required"},
        "tool_choice_named": {"tools": TOOLS["openai-responses"], "tool_choice": {
            "type": "function", "name": "get_weather"}},
        "response_format": {"text": {"format": {"type": "json_schema", "name": "Answer",
                                                "schema": ANSWER, "strict": True}}},
        "not_streamed": {"stream": False},
        "extra_body": {"user": "u-1", "seed": 7},
        "system": {"instructions": "Be brief."},
    },
    "anthropic": {
        "max_tokens": {"max_tokens": 256},
        "temperature": {"temperature": 0.5},
        "temperature_zero": {"temperature": 0.0},
        "thinking_on": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
        "thinking_budget": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
        # The budget must stay below max_tokens, which grows to leave room for the answer.
        "thinking_effort": {"max_tokens": 20480,
                            "thinking": {"type": "enabled", "budget_tokens": 16384}},
        "tools": {"tools": TOOLS["anthropic"]},
        "tool_choice_auto": {"tools": TOOLS["anthropic"], "tool_choice": {"type": "auto"}},
        "tool_choice_none": {"tools": TOOLS["anthropic"], "tool_choice": {"type": "none"}},
        "tool_choice_required": {"tools": TOOLS["anthropic"], "tool_choice": {"type": "any"}},
        "tool_choice_named": {"tools": TOOLS["anthropic"], "tool_choice": {
            "type": "tool", "name": "get_weather"}},
        "response_format": {
            "tools": [{"name": "structured_output_Answer",
                       "description": "Give the final answer as the input of this tool, "
                                      "following its schema.",
                       "input_schema": ANSWER}],
            "tool_choice": {"type": "tool", "name": "structured_output_Answer"}},
        "not_streamed": {"stream": False},
        "extra_body": {"user": "u-1", "seed": 7},
        "system": {"system": "Be brief."},
    },
    "gemini": {
        "max_tokens": {"generationConfig": {"maxOutputTokens": 256}},
        "temperature": {"generationConfig": {"temperature": 0.5}},
        "temperature_zero": {"generationConfig": {"temperature": 0.0}},
        "thinking_on": {"generationConfig": {"thinkingConfig": {"includeThoughts": True}}},
        "thinking_budget": {"generationConfig": {"thinkingConfig": {
            "includeThoughts": True, "thinkingBudget": 2048}}},
        "thinking_effort": {"generationConfig": {"thinkingConfig": {
            "includeThoughts": True, "thinkingLevel": "high"}}},
        "tools": {"tools": TOOLS["gemini"]},
        "tool_choice_auto": {"tools": TOOLS["gemini"],
                             "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}}},
        "tool_choice_none": {"tools": TOOLS["gemini"],
                             "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}},
        "tool_choice_required": {"tools": TOOLS["gemini"],
                                 "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}},
        "tool_choice_named": {"tools": TOOLS["gemini"], "toolConfig": {"functionCallingConfig": {
            "mode": "ANY", "allowedFunctionNames": ["get_weather"]}}},
        # NOTE: Gemini's responseSchema (an OpenAPI subset) has no additionalProperties.
        "response_format": {"generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {k: v for k, v in ANSWER.items() if k != "additionalProperties"}}},
        "not_streamed": {"path": "models/m-1:generateContent"},
        "extra_body": {"user": "u-1", "seed": 7},
        "system": {"systemInstruction": {"parts": [{"text": "Be brief."}]}},
    },
    "ollama": {
        "max_tokens": {"options": {"num_predict": 256}},
        "temperature": {"options": {"temperature": 0.5}},
        "temperature_zero": {"options": {"temperature": 0.0}},
        "thinking_on": {"think": True},
        "thinking_budget": {"think": True},
        "thinking_effort": {"think": "high"},
        "tools": {"tools": TOOLS["ollama"]},
        # NOTE: Ollama has no tool_choice: "none" offers no tools, the others offer them.
        "tool_choice_auto": {"tools": TOOLS["ollama"]},
        "tool_choice_none": {},
        "tool_choice_required": {"tools": TOOLS["ollama"]},
        "tool_choice_named": {"tools": TOOLS["ollama"]},
        "response_format": {"format": ANSWER},
        "not_streamed": {"stream": False},
        "extra_body": {"user": "u-1", "seed": 7},
        "system": {"messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Hi"}]},
    },
}


def build(wire: str, request: ChatRequest):
    endpoint = Endpoint(provider=wire, base_url=BASE_URLS[wire], api_key="sk-test")
    return wire_format(wire).build_request(request, endpoint)


@pytest.mark.parametrize("wire", list(DEFAULTS))
def test_the_default_body(wire):
    path, body = DEFAULTS[wire]
    http = build(wire, BASE)
    assert http.method == "POST"
    assert http.url == f"{BASE_URLS[wire]}/{path}"
    assert http.json == body


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("wire", list(DEFAULTS))
def test_each_option_alone(wire, option):
    path, default = DEFAULTS[wire]
    change = dict(CHANGES[wire][option])
    expected_path = change.pop("path", path)
    removed = change.pop("-", [])
    expected = {k: v for k, v in default.items() if k not in removed}
    expected.update(change)
    http = build(wire, BASE.model_copy(update=OPTIONS[option]))
    assert http.url == f"{BASE_URLS[wire]}/{expected_path}"
    assert http.json == expected


def test_every_option_is_pinned_on_every_wire():
    assert {wire: sorted(changes) for wire, changes in CHANGES.items()} == {
        wire: sorted(OPTIONS) for wire in DEFAULTS}


@pytest.mark.parametrize("wire", list(DEFAULTS))
def test_extra_body_overrides_what_streamchat_sets(wire):
    key = {"gemini": "contents"}.get(wire, "model")
    http = build(wire, BASE.model_copy(update={"extra_body": {key: "from extra_body"}}))
    assert http.json[key] == "from extra_body"
