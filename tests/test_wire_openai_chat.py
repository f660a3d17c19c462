"""OpenAI Chat Completions: request shape and decoding of recorded streams."""

import json

import pytest
from helpers import CHUNK_SIZES, decode, fixture, folded

from streamchat.errors import ConfigurationError, ProtocolError, ServerError
from streamchat.framing import Frame
from streamchat.types import ChatRequest, Image, Message, ResponseFormat, Text, Tool, ToolCall
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


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_every_parallel_call_as_index_0_stays_separate_calls(size):
    events = run("index_zero_parallel.sse", size)
    assert [e.type for e in events] == [
        "tool_call_start", "tool_call_delta", "tool_call_delta",
        "tool_call_start", "tool_call_delta", "tool_call_delta",
        "tool_call", "tool_call", "done",
    ]
    starts = [e for e in events if e.type == "tool_call_start"]
    assert [(e.index, e.id, e.name) for e in starts] == [
        (0, "call_ae1", "file_write"), (1, "call_b07", "file_write")]
    response = folded(events)
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("call_ae1", {"filePath": "hello.py"}), ("call_b07", {"filePath": "world.py"})]
    assert response.finish_reason == "tool_calls"


def chunk(delta=None, finish=None, **extra):
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return Frame(json.dumps({"id": "c-9", "model": "m", "choices": [choice], **extra}))


def test_tool_calls_still_open_at_done_are_emitted():
    decoder = openai_chat.new_decoder("p")
    events = []
    events += decoder.feed(chunk({"tool_calls": [
        {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":'}}]}))
    events += decoder.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}))
    events += decoder.feed(Frame("[DONE]"))
    assert [e.type for e in events] == [
        "tool_call_start", "tool_call_delta", "tool_call_delta", "tool_call", "done"]
    assert events[-2].arguments == {"a": 1} and events[-2].raw_arguments == '{"a":1}'
    assert events[-1].finish_reason == "tool_calls"
    assert events[-1].provider_finish_reason is None
    assert decoder.close() == []


def test_tool_calls_open_when_the_body_ends_after_finish_reason_are_emitted():
    decoder = openai_chat.new_decoder("p")
    decoder.feed(chunk({"tool_calls": [
        {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{}"}}]}))
    events = decoder.feed(chunk(finish="tool_calls"))
    assert [e.type for e in events] == ["tool_call"]
    closing = decoder.close()
    assert [e.type for e in closing] == ["done"]
    assert closing[0].finish_reason == "tool_calls"


# -- pinned one by one (each of these was a surviving mutant) -------------------------------

@pytest.mark.parametrize(("raw", "normalised"), [
    ("stop", "stop"), ("end_turn", "stop"), ("eos", "stop"), ("length", "length"),
    ("max_tokens", "length"), ("tool_calls", "tool_calls"), ("function_call", "tool_calls"),
    ("content_filter", "content_filter"), ("something_new", "other"),
])
def test_finish_reasons_of_compatible_servers(raw, normalised):
    decoder = openai_chat.new_decoder("p")
    decoder.feed(chunk({"content": "x"}, finish=raw))
    done = decoder.feed(Frame("[DONE]"))[-1]
    assert (done.finish_reason, done.provider_finish_reason) == (normalised, raw)


@pytest.mark.parametrize(("thinking", "effort"), [
    (None, None), (False, None), (True, "medium"), (0, "low"), (1024, "low"), (1025, "medium"),
    (8192, "medium"), (8193, "high"), ("minimal", "minimal"), ("high", "high"),
])
def test_reasoning_effort_for_every_form_of_thinking(thinking, effort):
    assert openai_chat.effort_for(thinking) == effort
    request = ChatRequest(model="m", messages=[Message.user("hi")], thinking=thinking)
    body = openai_chat.build_request(request, Endpoint(provider="p", base_url="http://x/v1")).json
    assert body.get("reasoning_effort") == effort


def test_presets_can_turn_stream_options_off_and_accept_follows_stream():
    request = ChatRequest(model="m", messages=[Message.user("hi")])
    endpoint = Endpoint(provider="p", base_url="http://x/v1", options={"stream_options": False})
    http = openai_chat.build_request(request, endpoint)
    assert "stream_options" not in http.json
    assert http.headers["Accept"] == "text/event-stream"
    whole = openai_chat.build_request(request.model_copy(update={"stream": False}), endpoint)
    assert whole.headers["Accept"] == "application/json"


def test_an_assistant_message_with_text_and_calls_keeps_its_text():
    call = ToolCall(id="c1", name="f", arguments={}, raw_arguments="{}")
    request = ChatRequest(model="m", messages=[Message.assistant("Let me look.", [call])])
    body = openai_chat.build_request(request, Endpoint(provider="p", base_url="http://x/v1")).json
    assert body["messages"] == [{"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]


def test_the_first_id_and_the_latest_model_are_kept():
    decoder = openai_chat.new_decoder("p")
    decoder.feed(Frame(json.dumps({"id": "first", "model": "m-a", "choices": []})))
    decoder.feed(Frame(json.dumps({"id": "second", "choices": [
        {"index": 0, "delta": {"content": "x"}}]})))
    decoder.feed(Frame(json.dumps({"id": "third", "model": "m-b", "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]})))
    done = decoder.feed(Frame("[DONE]"))[-1]
    assert (done.response_id, done.model) == ("first", "m-b")


def test_only_the_first_choice_and_only_objects_are_read():
    decoder = openai_chat.new_decoder("p")
    events = decoder.feed(Frame(json.dumps({"choices": [
        "junk", {"index": 1, "delta": {"content": "second choice"}},
        {"delta": {"content": "first"}}]})))
    assert [e.text for e in events] == ["first"]
    assert decoder.feed(Frame("[1, 2]")) == [] and decoder.feed(Frame('"text"')) == []
    assert decoder.feed(Frame(json.dumps({"error": None, "choices": [
        {"index": 0, "delta": {"content": "!"}}]})))[0].text == "!"


def test_empty_content_refusal_reasoning_and_groq_usage():
    decoder = openai_chat.new_decoder("p")
    assert decoder.feed(chunk({"content": ""})) == []
    assert decoder.feed(chunk({"role": "assistant", "content": ""})) == []
    events = decoder.feed(chunk({"refusal": "I can't help with that."}))
    assert [(e.type, e.text) for e in events] == [("refusal", "I can't help with that.")]
    events = decoder.feed(chunk({"reasoning": "hmm", "content": "ok"}))
    assert [(e.type, e.text) for e in events] == [("thinking", "hmm"), ("text", "ok")]
    assert decoder.feed(chunk({"reasoning_content": "", "reasoning": 3, "refusal": 4})) == []
    # NOTE: Groq reports usage under x_groq (https://console.groq.com/docs/api-reference).
    events = decoder.feed(Frame(json.dumps({"choices": [], "x_groq": {"usage": {
        "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}})))
    assert [e.usage.total_tokens for e in events] == [7]
    assert decoder.feed(Frame(json.dumps({"choices": [], "x_groq": None}))) == []
    events = decoder.feed(Frame(json.dumps({"choices": [], "usage": {
        "prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10,
        "prompt_cache_hit_tokens": 8}})))
    assert events[0].usage.cached_input_tokens == 8
    events = decoder.feed(chunk({}, finish="stop")) + decoder.feed(Frame("[DONE]"))
    assert events[-1].usage.total_tokens == 10


def test_a_tool_call_whose_name_and_arguments_arrive_late():
    decoder = openai_chat.new_decoder("p")
    events = decoder.feed(chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {}}]}))
    events += decoder.feed(chunk({"tool_calls": [
        {"index": 0, "function": {"name": "lookup", "arguments": {"not": "text"}}}]}))
    events += decoder.feed(chunk({"tool_calls": ["junk", {"index": 0, "function": {
        "arguments": '{"q": 1}'}}]}))
    events += decoder.feed(chunk({}, finish="tool_calls"))
    calls = [e for e in events if e.type == "tool_call"]
    assert [(c.id, c.name, c.arguments) for c in calls] == [("c1", "lookup", {"q": 1})]


def test_fragments_without_index_follow_the_last_call():
    decoder = openai_chat.new_decoder("p")
    events = decoder.feed(chunk({"tool_calls": [{"index": 0, "id": "a", "function": {
        "name": "f", "arguments": "{"}}]}))
    events += decoder.feed(chunk({"tool_calls": [{"index": 1, "id": "b", "function": {
        "name": "g", "arguments": "{"}}]}))
    events += decoder.feed(chunk({"tool_calls": [{"function": {"arguments": '"x": 2}'}}]}))
    events += decoder.feed(chunk({"tool_calls": [{"index": 0, "function": {
        "arguments": '"y": 1}'}}]}))
    events += decoder.feed(chunk({}, finish="tool_calls"))
    calls = [e for e in events if e.type == "tool_call"]
    assert [(c.id, c.arguments) for c in calls] == [("a", {"y": 1}), ("b", {"x": 2})]


def test_a_stream_that_ends_with_done_and_no_reason_or_calls_stops():
    decoder = openai_chat.new_decoder("p")
    decoder.feed(chunk({"content": "hi"}))
    done = decoder.feed(Frame("[DONE]"))[-1]
    assert (done.finish_reason, done.provider_finish_reason) == ("stop", None)


def test_think_tags_and_calls_are_closed_by_the_finish_reason():
    decoder = openai_chat.new_decoder("p")
    events = decoder.feed(chunk({"content": "<think>still thinking</thi"}))  # a tag's start held
    events += decoder.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {
        "name": "f", "arguments": "{}"}}]}))
    closing = decoder.feed(chunk({}, finish="tool_calls"))
    assert [e.type for e in closing] == ["thinking", "tool_call"]
    assert "".join(e.text for e in events + closing if e.type == "thinking") == (
        "still thinking</thi")


def test_a_whole_response_with_calls_and_no_finish_reason():
    body = {"id": "r", "model": "m", "choices": [{"message": {"role": "assistant", "content": None,
            "tool_calls": [{"id": "a", "type": "function",
                            "function": {"name": "f", "arguments": '{"n": 1}'}},
                           {"id": "b", "type": "function",
                            "function": {"name": "g", "arguments": "{}"}}]}}]}
    events = openai_chat.decode_body(body, "p")
    calls = [e for e in events if e.type == "tool_call"]
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, "a", "f", {"n": 1}), (1, "b", "g", {})]
    assert events[-1].type == "done" and events[-1].provider_finish_reason == "stop"
    with pytest.raises(ProtocolError):
        openai_chat.decode_body(["not", "an", "object"], "p")
    assert openai_chat.decode_body({"choices": [{"index": 1, "message": {"content": "b"}}]},
                                   "p")[-1].type == "done"


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("message", "content"), [
    (Message(role="assistant", content=[Text("a"), Text("b")]), "a\n\nb"),
    (Message.tool("c1", [Text("x"), Text("y")]), "x\n\ny"),
    (Message(role="system", content=[Text("s")]), "s"),
])
def test_text_parts_outside_user_messages_become_text(message, content):
    body = openai_chat.build_request(ChatRequest(model="m", messages=[message]),
                                     Endpoint(provider="p", base_url="http://x/v1")).json
    assert body["messages"][0]["content"] == content


@pytest.mark.parametrize(("message", "where"), [
    (Message(role="assistant", content=[Image(data=PNG)]), "an assistant message"),
    (Message.tool("c1", [Image(data=PNG)]), "a Chat Completions tool result (openai-responses"),
    (Message(role="system", content=[Image(data=PNG)]), "a system prompt"),
])
def test_an_image_outside_a_user_message_is_refused_saying_where(message, where):
    with pytest.raises(ConfigurationError, match="may hold only text") as caught:
        openai_chat.build_request(ChatRequest(model="m", messages=[message]),
                                  Endpoint(provider="p", base_url="http://x/v1"))
    assert where in str(caught.value)
