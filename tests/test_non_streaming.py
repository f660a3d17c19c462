"""`Client(stream=False)`: one non-streaming request per attempt, the same events and the
same ChatResponse as a stream, for every wire format, over the loopback fake server.

The worker reads the whole body (`_read_whole`) and each wire module's `decode_body`
turns it into the events its streaming decoder would give. The fake renders the
providers' documented non-streamed bodies from the same script as the streamed ones, so
the two modes can be compared answer for answer.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict

import pytest
from helpers import WIRES, fake_client

import streamchat
from streamchat.testing.server import FakeServer

SCRIPT: Dict[str, Any] = dict(
    text="Hello world, here is the weather.",
    thinking="The user wants the weather.",
    tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}],
    usage={"input_tokens": 17, "output_tokens": 9},
)
TOOL = {"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "days": {"type": "array", "items": {"type": "integer"}}}}}


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def summary(response: streamchat.ChatResponse) -> Dict[str, Any]:
    return {
        "text": response.text,
        "thinking": response.thinking,
        "thinking_blocks": response.thinking_blocks,
        "tool_calls": [(c.name, c.arguments) for c in response.tool_calls],
        "finish_reason": response.finish_reason,
        "provider_finish_reason": response.provider_finish_reason,
        "input_tokens": response.usage.input_tokens if response.usage else None,
        "output_tokens": response.usage.output_tokens if response.usage else None,
    }


@pytest.mark.parametrize("wire", WIRES)
def test_same_answer_as_the_streamed_one(server, wire):
    answers = {}
    for mode in (True, False):
        server.enqueue(**SCRIPT)
        stream = fake_client(server, wire, stream=mode).stream("Weather?", tools=[TOOL])
        kinds = [e.type for e in stream]
        assert kinds[0] == "start" and kinds[-1] == "done"
        assert {"thinking", "text", "tool_call_start", "tool_call"} <= set(kinds)
        assert stream.response is not None
        answers[mode] = summary(stream.response)
    assert answers[False] == answers[True]
    assert answers[False]["tool_calls"] == [("get_weather", {"city": "Paris", "days": [1, 2]})]
    assert answers[False]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("wire", WIRES)
def test_the_request_asks_for_no_stream(server, wire):
    server.enqueue(text="ok")
    assert fake_client(server, wire, stream=False).complete("hi").text == "ok"
    request = server.last_request
    assert request is not None
    if wire == "gemini":
        assert request.path.endswith(":generateContent") and "alt" not in request.query
    else:
        assert request.json["stream"] is False


@pytest.mark.parametrize("wire", WIRES)
def test_the_request_accepts_json(server, wire):
    server.enqueue(text="ok")
    fake_client(server, wire, stream=False).complete("hi")
    request = server.last_request
    assert request is not None
    assert request.headers.get("Accept") == "application/json"


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_every_body_framing_is_read_whole(server, wire, framing):
    server.enqueue(text="framed answer", framing=framing,
                   usage={"input_tokens": 3, "output_tokens": 2})
    response = fake_client(server, wire, stream=False).complete("hi")
    assert (response.text, response.finish_reason) == ("framed answer", "stop")
    assert response.usage is not None and response.usage.output_tokens == 2


@pytest.mark.parametrize("wire", WIRES)
def test_cost_is_computed_from_the_whole_body(server, wire):
    prices = {"m": {"input": 2.0, "output": 10.0}}
    server.enqueue(text="priced", usage={"input_tokens": 1000, "output_tokens": 100})
    response = fake_client(server, wire, stream=False, prices=prices).complete("hi")
    assert response.usage is not None
    assert response.usage.cost_usd == pytest.approx((1000 * 2 + 100 * 10) / 1_000_000)


@pytest.mark.parametrize("wire", WIRES)
def test_http_errors_are_typed_as_when_streaming(server, wire):
    server.enqueue(status=429, retry_after=7)
    client = fake_client(server, wire, stream=False,
                         retry=streamchat.RetryPolicy(max_attempts=1))
    with pytest.raises(streamchat.RateLimitError) as info:
        client.complete("hi")
    assert info.value.status_code == 429
    assert info.value.retry_after == 7


@pytest.mark.parametrize("wire", WIRES)
def test_a_body_that_is_not_json_is_a_protocol_error(server, wire):
    server.enqueue(body=b"<html>proxy error</html>", headers={"Content-Type": "text/html"})
    client = fake_client(server, wire, stream=False,
                         retry=streamchat.RetryPolicy(max_attempts=1))
    with pytest.raises(streamchat.ProtocolError):
        client.complete("hi")


@pytest.mark.parametrize("wire", WIRES)
def test_a_body_that_is_json_but_no_object_says_so(server, wire):
    # Not a cut stream (the old message said so): something other than the API answered.
    server.enqueue(body=b'"upstream busy"', headers={"Content-Type": "application/json"})
    client = fake_client(server, wire, stream=False,
                         retry=streamchat.RetryPolicy(max_attempts=1))
    with pytest.raises(streamchat.ProtocolError) as info:
        client.complete("hi")
    message = str(info.value)
    assert f"{wire} answered with a JSON str where its API sends an object" in message
    assert "base_url" in message and "ended before" not in message


@pytest.mark.parametrize("wire", WIRES)
def test_interrupt_while_waiting_for_the_body(server, wire):
    server.enqueue(text="too late", stall_after=0)
    stream = fake_client(server, wire, stream=False).stream("hi")
    started = time.monotonic()
    timer = threading.Timer(0.1, stream.interrupt)
    timer.start()
    kinds = [e.type for e in stream]
    timer.join()
    assert kinds == ["start", "cancelled"]
    assert time.monotonic() - started < 2
    assert stream.response is not None and stream.response.finish_reason == "cancelled"


@pytest.mark.parametrize("wire", WIRES)
def test_a_tool_loop_runs_without_streaming(server, wire):
    chat = fake_client(server, wire, stream=False).chat()
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    server.enqueue(text="21 C in Paris.")
    run = chat.run("Weather?", tools={"get_weather": lambda city: {"celsius": 21}})
    assert run.final().text == "21 C in Paris."
    assert [m.role for m in chat.history] == ["user", "assistant", "tool", "assistant"]
    assert all(r.json is None or r.json.get("stream") in (False, None) for r in server.requests)
