"""Token log probabilities: read from each wire's stream at every chunking when asked for,
folded into ChatResponse.logprobs, and not read at all when not asked for.

Shapes: https://platform.openai.com/docs/api-reference/chat-streaming,
https://platform.openai.com/docs/api-reference/responses-streaming/response/output_text/delta,
https://ai.google.dev/api/generate-content#LogprobsResult,
https://github.com/ollama/ollama/blob/main/docs/api.md (logprobs, top_logprobs).
"""

from __future__ import annotations

from typing import Any, List, Optional

import pytest
from helpers import CHUNK_SIZES, fixture, folded, split
from loopback import Exchange, Loopback

import streamchat
from streamchat.framing import frames_for
from streamchat.types import Event, TokenLogprob, TopLogprob
from streamchat.wire import gemini, ollama, openai_chat, openai_responses

CASES = [
    (openai_chat, "openai", "logprobs.sse"),
    (openai_responses, "openai-responses", "logprobs.sse"),
    (gemini, "gemini", "logprobs.sse"),
    (ollama, "ollama", "logprobs.ndjson"),
]
HELLO = TokenLogprob(token="Hello", logprob=-0.0012, top_logprobs=[
    TopLogprob(token="Hello", logprob=-0.0012), TopLogprob(token="Hi", logprob=-6.75)])


def decode(module: Any, wire: str, name: str, size: Optional[int], asked: bool) -> List[Event]:
    decoder = module.new_decoder(wire, asked)
    events: List[Event] = []
    for frame in frames_for(module.FRAMING, split(fixture(wire, name), size)):
        events.extend(decoder.feed(frame))
    return events + decoder.close()


def plain(entries: List[TokenLogprob]) -> List[TokenLogprob]:
    """Without bytes, which only some providers send."""
    return [e.model_copy(update={"bytes": None, "top_logprobs": [
        t.model_copy(update={"bytes": None}) for t in e.top_logprobs]}) for e in entries]


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("module,wire,name", CASES, ids=[c[1] for c in CASES])
def test_logprobs_arrive_as_events_and_fold_into_the_response(module, wire, name, size):
    events = decode(module, wire, name, size, asked=True)
    assert events == decode(module, wire, name, None, asked=True)
    kinds = [e.type for e in events]
    assert kinds.count("logprobs") >= 2 and kinds[-1] == "done"
    assert kinds.index("logprobs") > kinds.index("text")  # after the text it describes
    response = folded(events)
    assert response.logprobs is not None
    assert "".join(e.token for e in response.logprobs) == response.text
    assert plain(response.logprobs)[0] == HELLO


@pytest.mark.parametrize("module,wire,name", CASES, ids=[c[1] for c in CASES])
def test_a_stream_that_did_not_ask_reads_no_logprobs(module, wire, name):
    events = decode(module, wire, name, None, asked=False)
    assert "logprobs" not in [e.type for e in events]
    response = folded(events)
    assert response.logprobs is None and response.text.startswith("Hello world")


def test_openai_bytes_are_kept():
    events = decode(openai_chat, "openai", "logprobs.sse", None, asked=True)
    response = folded(events)
    assert response.logprobs is not None
    assert response.logprobs[1].bytes == list(b" world")
    assert response.logprobs[1].top_logprobs[1] == TopLogprob(
        token=" there", logprob=-1.32, bytes=list(b" there"))


def test_non_streamed_bodies_carry_their_logprobs():
    chat_body = {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hi"},
                     "logprobs": {"content": [{"token": "Hi", "logprob": -0.5, "bytes": [72, 105],
                                               "top_logprobs": []}]}}],
    }
    assert folded(openai_chat.decode_body(chat_body, "openai")).logprobs == [
        TokenLogprob(token="Hi", logprob=-0.5, bytes=[72, 105])]
    responses_body = {
        "id": "resp_1", "object": "response", "status": "completed", "model": "m",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "content": [
            {"type": "output_text", "text": "Hi", "annotations": [],
             "logprobs": [{"token": "Hi", "logprob": -0.5, "top_logprobs": []}]}]}],
    }
    got = folded(openai_responses.decode_body(responses_body, "openai-responses"))
    assert got.logprobs == [TokenLogprob(token="Hi", logprob=-0.5)]


def test_malformed_entries_are_skipped_not_fatal():
    from streamchat.wire.logprobs import gemini_logprobs, openai_logprobs

    assert openai_logprobs([{"token": "a"}, "x", {"token": "b", "logprob": "NaN"},
                            {"token": "c", "logprob": -1, "top_logprobs": [None]}]) == [
        TokenLogprob(token="c", logprob=-1.0)]
    assert gemini_logprobs({"chosenCandidates": [{"token": "a", "logProbability": -1}],
                            "topCandidates": "junk"}) == [TokenLogprob(token="a", logprob=-1.0)]


def test_end_to_end_through_a_socket():
    body = fixture("openai", "logprobs.sse")

    def handler(ex: Exchange) -> None:
        ex.start()
        ex.write(body)
        ex.end()

    with Loopback(handler) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1")
        with client.stream("hi", logprobs=True, top_logprobs=2) as stream:
            seen = [e for e in stream if e.type == "logprobs"]
        response = stream.final()
        sent = server.requests[0].body.decode()
    assert '"logprobs": true' in sent and '"top_logprobs": 2' in sent
    assert len(seen) == 3 and response.logprobs is not None
    assert [e.token for e in response.logprobs] == ["Hello", " world", "!"]


@pytest.mark.parametrize("wire", ["openai", "ollama", "gemini"])
def test_the_fake_answers_logprobs_when_asked(wire):
    from streamchat.testing import FakeServer

    with FakeServer() as server:
        client = streamchat.Client(wire, model="m", api_key="k", base_url=server.base_url(wire))
        asked = client.complete("hello there", logprobs=True, top_logprobs=2)
        plain = client.complete("hello there")
    assert asked.logprobs is not None
    assert "".join(e.token for e in asked.logprobs) == asked.text
    assert all(len(e.top_logprobs) == 2 for e in asked.logprobs)
    assert plain.logprobs is None
