"""streamchat.testing's renderer: a Script becomes the bytes each provider sends, and the
real wire decoders read them back into the script's content at every split.

The shapes being imitated come from the providers' docs and recorded streams:
OpenAI chunks with `obfuscation` and a usage chunk with empty choices (a recorded stream in
the public repository of an HTTP trace tool), Anthropic's padded event JSON and its single
`event: ping` after the first content_block_start (recorded cassettes reproduced in a
public Rust client's tests), Gemini's `data: ...\\r\\n\\r\\n` events (the separator Google's
own @google/generative-ai SDK matches), Ollama's Go-escaped NDJSON
(https://github.com/ollama/ollama/blob/main/docs/api.md).
"""

from __future__ import annotations

import importlib
import json
import pathlib
import re
from typing import Any, Dict, List, Optional

import pytest
import requests
import responses
from helpers import CHUNK_SIZES, decode, split

from streamchat.accumulate import fold
from streamchat.errors import (
    AuthenticationError,
    ContextOverflowError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    StreamChatError,
)
from streamchat.framing import frames_for
from streamchat.providers import WIRE_MODULES
from streamchat.providers import wire_format as module
from streamchat.testing import WIRES, add_stream, default_reply, endpoint_url, make_script
from streamchat.testing.render import (
    keepalive_frame,
    model_of,
    prompt_text,
    render,
    render_error,
    split_arguments,
    split_text,
    wants_stream,
)
from streamchat.types import Event, Usage
from streamchat.wire.errors import error_from_response

PROMPT = "What is the weather in Paris?"


def request_for(wire: str, prompt: str = PROMPT, **extra: Any) -> Dict[str, Any]:
    """A request body in the wire's own shape, as the adapters build them."""
    if wire == "gemini":
        body: Dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    elif wire == "openai-responses":
        body = {"model": "fake-model", "input": [{"role": "user", "content": prompt}],
                "stream": True}
    else:
        body = {"model": "fake-model", "messages": [{"role": "user", "content": prompt}],
                "stream": True}
    if wire == "openai":
        body["stream_options"] = {"include_usage": True}
    body.update(extra)
    return body


def decoded(wire: str, data: bytes, size: Optional[int] = None) -> List[Event]:
    return decode(module(wire), data, size)


FULL = dict(
    text="Sunny, 21 °C <warm> & dry.",
    thinking="The user wants the weather; call the tool first.",
    tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}, "id": "call_w1"},
        {"name": "get_time", "arguments": "{}"},
    ],
    usage={"input_tokens": 42, "output_tokens": 17, "reasoning_tokens": 5},
)


# --- every wire, every split ---------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_text_stream_decodes_to_the_script_at_every_split(wire: str, size: Optional[int]) -> None:
    script = make_script(text="Hello there! How are you today, friend?", chunk_size=4)
    body = render(script, wire, request_for(wire), model="fake-model").body

    events = decoded(wire, body, size)
    whole = decoded(wire, body)

    assert [e.type for e in events] == [e.type for e in whole]
    assert [e.type for e in events if e.type == "text"] == ["text"] * 10
    assert events[-1].type == "done"
    response = fold(events)
    assert response.text == "Hello there! How are you today, friend?"
    assert response.finish_reason == "stop"
    assert response.model == "fake-model"


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_thinking_text_and_tool_calls_decode_at_every_split(wire: str, size: Optional[int]) -> None:
    body = render(make_script(**FULL), wire, request_for(wire), model="m-1").body

    events = decoded(wire, body, size)

    assert [e.type for e in events] == [e.type for e in decoded(wire, body)]
    kinds = [e.type for e in events]
    assert kinds.index("thinking") < kinds.index("text") < kinds.index("tool_call_start")
    assert kinds.count("tool_call") == 2 and kinds[-1] == "done"
    response = fold(events)
    assert response.text == FULL["text"]
    assert response.thinking == FULL["thinking"]
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris", "unit": "c"}), ("get_time", {})
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (42, 17)
    if wire != "gemini":
        # Gemini has no call ids: the decoder makes its own.
        assert response.tool_calls[0].id == "call_w1"


@pytest.mark.parametrize("wire", WIRES)
def test_default_reply_quotes_the_prompt_with_plausible_usage(wire: str) -> None:
    body = render(make_script(), wire, request_for(wire, "Tell me a joke")).body

    response = fold(decoded(wire, body))

    assert response.text == 'You said: "Tell me a joke". This is streamchat\'s fake provider.'
    assert response.usage is not None
    assert response.usage.input_tokens and response.usage.input_tokens > 0
    assert response.usage.output_tokens == (len(response.text) + 3) // 4


@pytest.mark.parametrize(
    ("wire", "word"),
    [("openai", "length"), ("openai-responses", "max_output_tokens"), ("anthropic", "max_tokens"),
     ("gemini", "MAX_TOKENS"), ("ollama", "length")],
)
def test_length_finish_is_sent_in_each_providers_own_word(wire: str, word: str) -> None:
    body = render(make_script(text="cut", finish_reason="length"), wire, request_for(wire)).body

    response = fold(decoded(wire, body))

    assert response.finish_reason == "length"
    assert response.provider_finish_reason in (word, "incomplete")
    assert word.encode() in body


def test_unknown_finish_reason_is_sent_verbatim() -> None:
    body = render(make_script(text="x", finish_reason="pause_turn"), "anthropic").body

    done = decoded("anthropic", body)[-1]

    assert done.type == "done" and done.provider_finish_reason == "pause_turn"


def test_usage_may_be_a_streamchat_usage_with_cached_tokens() -> None:
    usage = Usage(input_tokens=100, output_tokens=10, cached_input_tokens=60)
    for wire in ("openai", "openai-responses", "anthropic"):
        response = fold(decoded(wire, render(make_script(text="hi", usage=usage), wire,
                                             request_for(wire)).body))
        assert response.usage is not None, wire
        assert (response.usage.input_tokens, response.usage.cached_input_tokens) == (100, 60), wire


# --- exact bytes ------------------------------------------------------------------------


def test_openai_chunks_carry_usage_null_then_an_empty_choices_usage_chunk_then_done() -> None:
    frames = render(make_script(text="Hi"), "openai", request_for("openai")).frames

    assert frames[-1] == b"data: [DONE]\n\n"
    usage = json.loads(frames[-2][6:])
    assert usage["choices"] == [] and usage["usage"]["prompt_tokens"] > 0
    first = json.loads(frames[0][6:])
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert first["usage"] is None and "obfuscation" in first
    assert all(f.startswith(b"data: {") and f.endswith(b"}\n\n") for f in frames[:-1])


def test_openai_without_include_usage_sends_no_usage_at_all() -> None:
    body = render(make_script(text="Hi"), "openai", request_for("openai", stream_options=None)).body

    assert b'"usage"' not in body
    assert fold(decoded("openai", body)).usage is None


def test_anthropic_pads_event_json_and_pings_once_after_the_first_block_start() -> None:
    frames = render(make_script(text="Hi there"), "anthropic").frames

    names = [f.split(b"\n")[0].decode() for f in frames]
    assert names[:3] == ["event: message_start", "event: content_block_start", "event: ping"]
    assert names.count("event: ping") == 1
    assert frames[2] == b'event: ping\ndata: {"type": "ping"}\n\n'
    assert names[-2:] == ["event: message_delta", "event: message_stop"]
    assert re.match(rb'event: message_stop\ndata: \{"type":"message_stop" +\}\n\n$', frames[-1])


def test_anthropic_thinking_block_ends_with_a_signature_delta() -> None:
    body = render(make_script(thinking="hmm", text="ok"), "anthropic").body

    assert b'"content_block":{"type":"thinking","thinking":"","signature":""}' in body
    assert b'"type":"signature_delta","signature":"' in body
    thinking = [e for e in decoded("anthropic", body) if e.type == "thinking"]
    assert thinking[-1].signature


def test_responses_events_repeat_their_name_and_number_themselves_from_zero() -> None:
    frames = render(make_script(**FULL), "openai-responses").frames

    numbers = []
    for frame in frames:
        name, data = frame.decode().split("\n")[:2]
        payload = json.loads(data[len("data: "):])
        assert name == f"event: {payload['type']}"
        numbers.append(payload["sequence_number"])
    assert numbers == list(range(len(frames)))
    names = [f.split(b"\n")[0][7:].decode() for f in frames]
    for expected in ("response.created", "response.in_progress", "response.output_item.added",
                     "response.reasoning_summary_text.delta", "response.content_part.added",
                     "response.output_text.delta", "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done"):
        assert expected in names
    assert names[-1] == "response.completed"


def test_gemini_events_end_in_crlf_and_use_googles_json_spacing() -> None:
    frames = render(make_script(text="Hi", chunk_size=1), "gemini").frames

    assert all(f.startswith(b"data: {") and f.endswith(b"}\r\n\r\n") for f in frames)
    assert frames[0].startswith(b'data: {"candidates": [{"content": {"parts": [{"text": "H"}],')
    final = json.loads(frames[-1][6:])
    assert final["candidates"][0]["finishReason"] == "STOP"
    assert final["usageMetadata"]["candidatesTokenCount"] >= 1


def test_ollama_lines_escape_html_characters_as_go_does() -> None:
    frames = render(make_script(text="<b> & </b>", chunk_size=100), "ollama").frames

    assert b"\\u003cb\\u003e \\u0026 \\u003c/b\\u003e" in frames[0]
    assert all(f.endswith(b"}\n") and f.count(b"\n") == 1 for f in frames)
    last = json.loads(frames[-1])
    assert last["done"] is True and last["done_reason"] == "stop"
    assert {"prompt_eval_count", "eval_count", "total_duration"} <= set(last)
    assert fold(decoded("ollama", b"".join(frames))).text == "<b> & </b>"


@pytest.mark.parametrize("wire", WIRES)
def test_rendering_is_deterministic_and_ids_differ_between_responses(wire: str) -> None:
    script = make_script(text="same", tool_calls=[{"name": "f"}])

    first = render(script, wire, request_for(wire), seq=1)

    assert render(script, wire, request_for(wire), seq=1) == first
    assert render(script, wire, request_for(wire), seq=2).body != first.body


@pytest.mark.parametrize("wire", WIRES)
def test_keepalive_is_what_each_provider_sends(wire: str) -> None:
    frame = keepalive_frame(wire)

    if wire == "ollama":
        assert frame is None
        return
    assert frame is not None
    frames = [(f.event, f.data) for f in frames_for("sse", [frame])]
    # A comment line never becomes a frame; Anthropic's ping is a named event.
    assert frames == ([("ping", '{"type": "ping"}')] if wire == "anthropic" else [])


# --- plain bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_non_streamed_body_decodes_to_the_same_response(wire: str) -> None:
    rendered = render(make_script(**FULL), wire, request_for(wire), stream=False)

    assert rendered.content_type.startswith("application/json")
    events = module(wire).decode_body(json.loads(rendered.body), "test")
    response = fold(events)
    assert response.text == FULL["text"]
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_time"]
    assert response.finish_reason == "tool_calls"
    assert response.usage is not None and response.usage.output_tokens == 17


# --- errors -----------------------------------------------------------------------------

STATUS_ERRORS = [
    (400, InvalidRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
    (404, NotFoundError), (429, RateLimitError), (500, ServerError), (503, ServerError),
]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(("status", "error"), STATUS_ERRORS)
def test_error_bodies_classify_as_the_real_ones_do(wire: str, status: int, error: type) -> None:
    rendered = render(make_script(status=status), wire, request_for(wire))

    assert rendered.status == status
    assert rendered.content_type.startswith("application/json")
    exc = error_from_response(wire, status, rendered.body)
    assert isinstance(exc, StreamChatError)
    if not (wire == "gemini" and status == 503):
        assert isinstance(exc, error), exc
    assert exc.message


def test_status_529_is_anthropics_overloaded_error() -> None:
    rendered = render_error("anthropic", 529)

    assert json.loads(rendered.body) == {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": dict(rendered.headers)["request-id"],
    }
    assert isinstance(error_from_response("anthropic", 529, rendered.body), OverloadedError)


def test_openai_error_body_is_pretty_printed_with_a_request_id() -> None:
    rendered = render_error("openai", 401)

    assert rendered.body.startswith(b'{\n    "error": {\n        "message": "Incorrect API key')
    assert json.loads(rendered.body)["error"]["code"] == "invalid_api_key"
    assert dict(rendered.headers)["x-request-id"].startswith("req_")


def test_retry_after_goes_in_the_header_and_in_geminis_body() -> None:
    rendered = render(make_script(status=429, retry_after=7), "gemini")

    assert ("Retry-After", "7") in rendered.headers
    details = json.loads(rendered.body)["error"]["details"]
    assert details == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    assert error_from_response("gemini", 429, rendered.body).retry_after == 7.0


def test_body_and_headers_override_the_rendered_error() -> None:
    rendered = render(make_script(status=502, body="<html>Bad gateway</html>",
                                  headers={"X-Proxy": "nginx"}), "openai")

    assert rendered.body == b"<html>Bad gateway</html>"
    assert rendered.content_type == "text/plain; charset=utf-8"
    assert ("X-Proxy", "nginx") in rendered.headers


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("kind", ["overloaded", "server_error", "rate_limit", "invalid_request",
                                  "context_overflow"])
def test_in_stream_error_comes_after_the_content(wire: str, kind: str) -> None:
    rendered = render(make_script(text="partial answer", error_event=kind), wire, request_for(wire))
    decoder = module(wire).new_decoder("test")
    events: List[Event] = []

    with pytest.raises(StreamChatError) as caught:
        for frame in frames_for(module(wire).FRAMING, split(rendered.body, 5)):
            events.extend(decoder.feed(frame))
        decoder.close()

    assert rendered.truncated
    assert "".join(e.text for e in events if e.type == "text") == "partial answer"
    assert not any(e.type == "done" for e in events)
    error = caught.value
    if wire != "ollama":
        # Ollama's in-stream errors are bare strings: only their words can classify them.
        assert error.retryable == (kind in ("overloaded", "server_error", "rate_limit"))
    if kind == "context_overflow":
        assert isinstance(error, ContextOverflowError)
    if kind == "overloaded" and wire == "anthropic":
        assert isinstance(error, OverloadedError)
    if kind == "rate_limit" and wire != "ollama":
        assert isinstance(error, RateLimitError)


@pytest.mark.parametrize("wire", WIRES)
def test_error_event_may_be_a_raw_payload(wire: str) -> None:
    payload = {"error": {"message": "custom failure", "type": "server_error", "code": 500}}

    rendered = render(make_script(text="x", error_event=payload), wire, request_for(wire))

    error_frame = rendered.frames[-2 if wire == "openai-responses" else -1].decode()
    data = error_frame.split("data: ", 1)[-1]
    assert json.loads(data) == payload
    with pytest.raises(StreamChatError, match="custom failure"):
        decoded(wire, rendered.body)


@pytest.mark.parametrize("wire", WIRES)
def test_truncated_stream_never_reaches_its_terminal_event(wire: str) -> None:
    full = render(make_script(text="one two three four five six seven"), wire, request_for(wire))
    cut = render(make_script(text="one two three four five six seven", truncate_after=100),
                 wire, request_for(wire))
    short = render(make_script(text="one two three four five six seven", truncate_after=2),
                   wire, request_for(wire))

    assert cut.truncated and len(cut.frames) < len(full.frames)
    assert full.body.startswith(cut.body)
    assert short.frames == full.frames[:2]
    with pytest.raises(ProtocolError):
        decoded(wire, cut.body)


@pytest.mark.parametrize("wire", WIRES)
def test_malformed_frame_is_a_protocol_error(wire: str) -> None:
    rendered = render(make_script(text="a b c d e f", malformed_after=1), wire, request_for(wire))

    with pytest.raises(ProtocolError):
        decoded(wire, rendered.body)


# --- helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "one", "  lead and trail  ", "a\nb\n\nc d e f g h", "é ü 中文"]
)
@pytest.mark.parametrize("size", [None, 1, 3])
def test_split_text_loses_nothing(text: str, size: Optional[int]) -> None:
    pieces = split_text(text, size)

    assert "".join(pieces) == text
    assert all(pieces)
    if size:
        assert all(len(p) <= size for p in pieces)


def test_default_split_is_a_few_words_and_arguments_split_after_separators() -> None:
    assert split_text("one two three four five") == ["one two three ", "four five"]
    assert split_arguments('{"a": 1, "b": "x"}') == ['{"a":', ' 1,', ' "b":', ' "x"}']


@pytest.mark.parametrize("wire", WIRES)
def test_prompt_is_found_in_every_request_shape(wire: str) -> None:
    body = request_for(wire, "first")
    key = {"gemini": "contents", "openai-responses": "input"}.get(wire, "messages")
    if wire == "gemini":
        body[key] += [{"role": "model", "parts": [{"text": "reply"}]},
                      {"role": "user", "parts": [{"text": "second"}]}]
    else:
        body[key] += [{"role": "assistant", "content": "reply"},
                      {"role": "user", "content": [{"type": "text", "text": "second"}]}]

    assert prompt_text(wire, body) == "second"


def test_stream_and_model_come_from_each_apis_own_place() -> None:
    assert wants_stream("ollama", {"model": "x"}) is True
    assert wants_stream("ollama", {"stream": False}) is False
    assert wants_stream("openai", {"model": "x"}) is False
    assert wants_stream("gemini", None, "/v1beta/models/g:streamGenerateContent") is True
    assert wants_stream("gemini", None, "/v1beta/models/g:generateContent") is False
    assert model_of("gemini", None, "/v1beta/models/gemini-2.5-flash:generateContent") == (
        "gemini-2.5-flash"
    )
    assert prompt_text("openai-responses", {"input": "plain"}) == "plain"


def test_default_reply_is_short_and_deterministic() -> None:
    long = "word " * 40

    assert default_reply("") == "Hello! This is streamchat's fake provider."
    assert default_reply(long) == default_reply(long)
    assert len(default_reply(long)) < 120 and "..." in default_reply(long)


@pytest.mark.parametrize(
    "fields",
    [dict(chunk_size=0), dict(status=99), dict(stall_after=-1), dict(keepalive=0),
     dict(error_event="nope"), dict(reset="sometimes"), dict(framing="carrier-pigeon"),
     dict(keepalive=1, framing="content-length"), dict(tool_calls=[{"arguments": {}}])],
)
def test_nonsense_scripts_fail_early(fields: Dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_script(**fields)


def test_unknown_wire_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown wire"):
        render(make_script(), "carrier-pigeon")


@pytest.mark.parametrize("wire", WIRES)
def test_a_fifty_thousand_event_body_renders_whole(wire: str) -> None:
    script = make_script(text="x" * 50_000, chunk_size=1)

    rendered = render(script, wire, request_for(wire))

    assert len(rendered.frames) > 50_000
    assert not rendered.truncated


def test_renderer_stays_pure() -> None:
    path = importlib.import_module("streamchat.testing.render").__file__
    assert path is not None
    modules = sorted(pathlib.Path(path).parent.glob("*.py"))
    assert len(modules) > 5

    for path_ in modules:
        source = path_.read_text(encoding="utf-8")
        for name in ("socket", "threading", "time", "requests", "random"):
            assert not re.search(rf"^(import|from) {name}\b", source, re.M), (path_.name, name)


@pytest.mark.parametrize("wire", WIRES)
def test_every_wire_has_its_renderer_module(wire: str) -> None:
    renderer = importlib.import_module(f"streamchat.testing.render.{WIRE_MODULES[wire]}")

    assert renderer.WIRE.name == wire
    assert render(make_script(text="hi"), wire, request_for(wire)).status == 200


# --- the responses helper -----------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_add_stream_serves_the_rendered_stream_to_requests(wire: str) -> None:
    url = endpoint_url(wire, model="fake-model")
    target = url if isinstance(url, str) else (
        "https://generativelanguage.googleapis.com/v1beta/models/fake-model:streamGenerateContent"
        "?alt=sse"
    )
    with responses.RequestsMock() as rsps:
        add_stream(rsps, wire, text="mocked answer", usage={"input_tokens": 3, "output_tokens": 2})
        reply = requests.post(target, json=request_for(wire), stream=True)
        body = reply.raw.read()

    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == render(make_script(), wire).content_type
    assert body == render(make_script(text="mocked answer",
                                      usage={"input_tokens": 3, "output_tokens": 2}),
                          wire, request_for(wire), model="fake-model").body
    assert fold(decoded(wire, body)).text == "mocked answer"


def test_add_stream_answers_in_order_and_renders_errors() -> None:
    with responses.RequestsMock() as rsps:
        add_stream(rsps, "anthropic", status=529)
        add_stream(rsps, "anthropic", base_url="https://proxy.example/v1", text="proxied")
        add_stream(rsps, "anthropic", text="second")
        url = "https://api.anthropic.com/v1/messages"
        first = requests.post(url, json=request_for("anthropic"))
        second = requests.post(url, json=request_for("anthropic"))
        third = requests.post(url, json=request_for("anthropic"))
        proxied = requests.post("https://proxy.example/v1/messages", json=request_for("anthropic"))

    assert first.status_code == 529
    assert first.json()["error"]["type"] == "overloaded_error"
    assert fold(decoded("anthropic", second.content)).text == "second"
    assert fold(decoded("anthropic", third.content)).text == "second"
    assert fold(decoded("anthropic", proxied.content)).text == "proxied"


def test_add_stream_plain_json_when_the_request_does_not_stream() -> None:
    with responses.RequestsMock() as rsps:
        add_stream(rsps, "openai", text="plain")
        reply = requests.post("https://api.openai.com/v1/chat/completions",
                              json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})

    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["choices"][0]["message"]["content"] == "plain"


def test_add_stream_refuses_faults_that_need_a_socket() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, pytest.raises(
        ValueError, match="FakeServer"
    ):
        add_stream(rsps, "openai", stall_after=2)
