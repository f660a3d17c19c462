"""Structured output end to end: each wire format asks for its provider's native mode, the
answer is validated into `response.parsed`, and output that does not match raises
OutputValidationError keeping the raw text. Streamed and non-streamed, over the fake
provider server.

Native modes, as the adapters send them:
- openai: response_format json_schema (strict),
  https://platform.openai.com/docs/guides/structured-outputs
- openai-responses: text.format json_schema,
  https://platform.openai.com/docs/api-reference/responses/create
- anthropic: a forced tool whose input is the answer,
  https://docs.anthropic.com/en/docs/build-with-claude/tool-use#json-mode
- gemini: generationConfig responseMimeType + responseSchema,
  https://ai.google.dev/gemini-api/docs/structured-output
- ollama: format (a JSON schema), https://docs.ollama.com/capabilities/structured-outputs
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest
from helpers import WIRES, fake_client
from pydantic import BaseModel

import streamchat
from streamchat.testing.server import FakeServer

MODES = pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])


class City(BaseModel):
    name: str
    population: int


class Landmark(BaseModel):
    title: str
    year: Optional[int] = None


class Guide(BaseModel):
    city: City
    landmarks: List[Landmark]


SCHEMA: Dict[str, Any] = {
    "title": "Answer",
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["answer", "confidence"],
}


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def enqueue_answer(server: FakeServer, wire: str, name: str, value: Dict[str, Any]) -> None:
    """Queue the answer as the provider gives it: Anthropic as the format tool's input."""
    if wire == "anthropic":
        server.enqueue(tool_calls=[{"name": f"structured_output_{name}", "arguments": value}])
    else:
        server.enqueue(text=json.dumps(value))


def native_format(wire: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """The JSON schema the request carries in the provider's own field."""
    if wire == "openai":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        schema: Dict[str, Any] = fmt["json_schema"]["schema"]
        return schema
    if wire == "openai-responses":
        fmt = body["text"]["format"]
        assert fmt["type"] == "json_schema" and fmt["strict"] is True
        return dict(fmt["schema"])
    if wire == "anthropic":
        tool = body["tools"][-1]
        assert body["tool_choice"] == {"type": "tool", "name": tool["name"]}
        return dict(tool["input_schema"])
    if wire == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        return dict(config["responseSchema"])
    return dict(body["format"])


@pytest.mark.parametrize("wire", WIRES)
@MODES
def test_a_pydantic_model_is_parsed(server, wire, stream):
    enqueue_answer(server, wire, "City", {"name": "Paris", "population": 2102650})
    response = fake_client(server, wire, stream=stream).complete(
        "Biggest city of France?", response_format=City
    )
    assert response.parsed == City(name="Paris", population=2102650)
    assert response.tool_calls == [] and response.finish_reason == "stop"
    assert json.loads(response.text) == {"name": "Paris", "population": 2102650}
    schema = native_format(wire, server.last_request.json)
    assert set(schema["properties"]) == {"name", "population"}


@pytest.mark.parametrize("wire", WIRES)
@MODES
def test_a_json_schema_dict_gives_a_dict(server, wire, stream):
    enqueue_answer(server, wire, "Answer", {"answer": "42", "confidence": 0.9})
    response = fake_client(server, wire, stream=stream).complete("?", response_format=SCHEMA)
    assert response.parsed == {"answer": "42", "confidence": 0.9}
    assert set(native_format(wire, server.last_request.json)["properties"]) == {
        "answer", "confidence"
    }


@pytest.mark.parametrize("wire", WIRES)
def test_nested_models_survive_each_schema_dialect(server, wire):
    value = {"city": {"name": "Rome", "population": 2750000},
             "landmarks": [{"title": "Colosseum", "year": 80}, {"title": "Pantheon", "year": None}]}
    enqueue_answer(server, wire, "Guide", value)
    response = fake_client(server, wire).complete("Rome guide", response_format=Guide)
    assert response.parsed == Guide.model_validate(value)
    schema = json.dumps(native_format(wire, server.last_request.json))
    if wire == "gemini":
        assert "$ref" not in schema and "$defs" not in schema  # Gemini's dialect inlines
    if wire in ("openai", "openai-responses"):
        strict = native_format(wire, server.last_request.json)
        landmark = strict["$defs"]["Landmark"]
        assert landmark["additionalProperties"] is False
        assert landmark["required"] == ["title", "year"]  # strict mode: all required


@pytest.mark.parametrize("wire", WIRES)
@MODES
def test_output_that_does_not_match_raises_and_keeps_the_raw_text(server, wire, stream):
    server.enqueue(text='{"name": "Paris"}')  # population missing
    client = fake_client(server, wire, stream=stream)
    answer = client.stream("?", response_format=City)
    with pytest.raises(streamchat.OutputValidationError) as info:
        for _ in answer:
            pass
    error = info.value
    assert isinstance(error, ValueError)
    assert error.raw_text == '{"name": "Paris"}'
    assert error.partial is not None and error.partial.text == '{"name": "Paris"}'
    assert error.provider == wire
    assert answer.error is error
    with pytest.raises(streamchat.OutputValidationError):
        answer.final()


@pytest.mark.parametrize("wire", ["openai", "gemini"])
def test_text_that_is_not_json_raises(server, wire):
    server.enqueue(text="Sorry, I can only answer in prose.")
    with pytest.raises(streamchat.OutputValidationError) as info:
        fake_client(server, wire).complete("?", response_format=SCHEMA)
    assert info.value.raw_text == "Sorry, I can only answer in prose."


def test_an_openai_refusal_is_not_parsed(server):
    body = {"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [{
        "index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
    }]}
    server.enqueue(body=body)
    client = fake_client(server, "openai", stream=False)
    with pytest.raises(streamchat.OutputValidationError) as info:
        client.complete("?", response_format=City)
    assert info.value.raw_text == "I can't help with that."


def test_a_fenced_json_answer_is_parsed(server):
    server.enqueue(text='```json\n{"name": "Lyon", "population": 522250}\n```')
    response = fake_client(server, "ollama").complete("?", response_format=City)
    assert response.parsed == City(name="Lyon", population=522250)


@pytest.mark.parametrize("wire", WIRES)
def test_an_interrupted_answer_is_not_parsed(server, wire):
    server.enqueue(text='{"name": "Paris", "population": 2102650}', chunk_size=3, stall_after=6)
    stream = fake_client(server, wire).stream("?", response_format=City)
    for event in stream:
        if event.type == "text":
            stream.interrupt()
    assert stream.error is None
    assert stream.response is not None and stream.response.finish_reason == "cancelled"
    assert stream.response.parsed is None


@pytest.mark.parametrize("wire", ["openai", "openai-responses", "gemini", "ollama"])
def test_a_round_that_asks_for_tools_is_not_parsed(server, wire):
    server.enqueue(tool_calls=[{"name": "lookup", "arguments": {"q": "Paris"}}])
    response = fake_client(server, wire).complete(
        "?", response_format=City, tools=[{"name": "lookup"}]
    )
    assert response.finish_reason == "tool_calls" and response.parsed is None


def test_structured_output_in_a_tool_loop(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(tool_calls=[{"name": "population", "arguments": {"city": "Paris"}}])
    server.enqueue(text='{"name": "Paris", "population": 2102650}')
    run = chat.run("Paris?", tools={"population": lambda city: 2102650}, response_format=City)
    assert run.final().parsed == City(name="Paris", population=2102650)


def test_anthropic_with_thinking_offers_the_format_tool_instead_of_forcing_it(server):
    enqueue_answer(server, "anthropic", "City", {"name": "Nice", "population": 342669})
    response = fake_client(server, "anthropic").complete(
        "?", response_format=City, thinking=2048
    )
    assert response.parsed == City(name="Nice", population=342669)
    assert server.last_request.json["tool_choice"] == {"type": "auto"}


def test_a_chat_keeps_the_structured_answer_as_text(server):
    chat = fake_client(server, "anthropic").chat()
    enqueue_answer(server, "anthropic", "City", {"name": "Paris", "population": 1})
    chat.send("?", response_format=City)
    stored = chat.history[-1]
    assert stored.tool_calls == [] and json.loads(stored.content)["name"] == "Paris"


def test_a_callback_that_rejects_the_answer_keeps_it_as_the_partial(server):
    # A user's own on_end check fails the stream with a streamchat error of its own making,
    # which carries no partial: the answer received must still be there to show or log.
    server.enqueue(text="not what I wanted")

    def reject(stream):
        raise streamchat.StreamChatError("the answer failed my check; ask again")

    answer = fake_client(server, "openai").stream("?", on_end=reject)
    with pytest.raises(streamchat.StreamChatError) as info:
        answer.final()
    assert info.value.partial is not None
    assert info.value.partial.text == "not what I wanted"
