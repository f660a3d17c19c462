"""The fake provider reads the parts every wire sends back into streamchat's own parts,
refuses shapes the provider would refuse, and answers according to what was sent."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import requests
import responses
from helpers import WIRES, fake_client
from media import PDF, PNG, WAV

import streamchat
from streamchat import Audio, Document, Image, Text
from streamchat.testing import FakeServer, add_stream
from streamchat.testing.render import parts_of

URL_IMAGE = Image(url="https://example.com/cat.png")

SENT: Dict[str, List[Any]] = {
    "openai": ["Look", Image(data=PNG, detail="low"), URL_IMAGE,
               Document(data=PDF, name="r.pdf"), Document(file_id="file-1"), Audio(data=WAV)],
    "openai-responses": ["Look", Image(data=PNG, detail="low"), URL_IMAGE,
                         Image(file_id="file-2"), Document(data=PDF, name="r.pdf"),
                         Document(url="https://example.com/a.pdf"), Document(file_id="file-1")],
    "anthropic": [Text("Look", cache=True), Image(data=PNG), URL_IMAGE, Image(file_id="f-2"),
                  Document(data=PDF), Document(data=b"notes", media_type="text/plain"),
                  Document(url="https://example.com/a.pdf"), Document(file_id="f-1")],
    "gemini": ["Look", Image(data=PNG), Document(data=PDF), Audio(data=WAV), URL_IMAGE],
    "ollama": ["Look", Image(data=PNG)],
}
"""What each wire can carry, every kind and source of part it takes."""


def comparable(part: Any) -> Any:
    """A part as the fake can know it: what the wire carries (OpenAI sends `auto` detail
    and file names the caller left out, so those are not compared)."""
    part = Text(part) if isinstance(part, str) else part
    return part.model_dump(exclude={"detail", "name"})


@pytest.mark.parametrize("wire", WIRES)
def test_the_fake_reads_back_every_part_the_wire_sent(wire):
    with FakeServer() as server:
        fake_client(server, wire).complete(SENT[wire])
        request = server.last_request
    assert [comparable(p) for p in request.parts] == [comparable(p) for p in SENT[wire]]
    assert [i.data for i in request.images if i.data] == [PNG]


def test_parts_keep_their_details_where_the_wire_carries_them():
    with FakeServer() as server:
        fake_client(server, "openai").complete([Image(data=PNG, detail="low"),
                                                Document(data=PDF, name="r.pdf")])
        image, document = server.last_request.parts
    assert isinstance(image, Image) and image.detail == "low"
    assert isinstance(document, Document) and document.name == "r.pdf"


def test_tool_results_count_among_the_parts():
    body = {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
            "content": [{"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}]}]}]}
    assert parts_of("anthropic", body) == [Image(url="https://x/a.png")]


@pytest.mark.parametrize(("wire", "part", "problem"), [
    ("openai", {"type": "image_url", "image_url": {"url": 5}}, "image_url.url must be a string"),
    ("openai", {"type": "image", "data": "x"}, "unknown content part type 'image'"),
    ("openai", {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "ogg"}},
     "format must be wav or mp3"),
    ("openai", {"type": "file", "file": {"file_data": "JVBERi0="}}, "not a data URL"),
    ("openai-responses", {"type": "input_image", "image_url": "https://x/a.png"},
     "detail must be auto, low or high"),
    ("anthropic", {"type": "image", "source": {"type": "base64", "media_type": "image/bmp",
                                               "data": "Qk0="}}, "is not one of"),
])
def test_a_part_the_provider_would_refuse_is_a_400_that_says_why(wire, part, problem):
    body: Dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": [part]}]}
    if wire == "openai-responses":
        body = {"model": "m", "input": [{"role": "user", "content": [part]}]}
    with FakeServer() as server:
        path = {"openai": "/v1/chat/completions", "openai-responses": "/v1/responses",
                "anthropic": "/v1/messages"}[wire]
        answer = requests.post(server.url + path, json=body, timeout=10)
        assert server.pending == 0 and server.last_request.parts == ()
    assert answer.status_code == 400
    assert problem in answer.text


def test_a_reply_can_depend_on_what_was_sent():
    with FakeServer() as server:
        server.enqueue(reply=lambda request: f"I see {len(request.images)} images.")
        server.enqueue(reply=lambda request: {"text": "Tool time.", "tool_calls": [
            {"name": "zoom", "arguments": {"count": len(request.images)}}]})
        client = fake_client(server, "anthropic")
        first = client.complete(["Compare", Image(data=PNG), Image(data=PNG)])
        second = client.complete(["Zoom in", Image(data=PNG)])
    assert first.text == "I see 2 images."
    assert (second.text, second.tool_calls[0].arguments) == ("Tool time.", {"count": 1})


def test_a_reply_that_raises_is_a_500_naming_the_error():
    def broken(request: Any) -> str:
        raise KeyError("oops")

    with FakeServer() as server:
        server.enqueue(reply=broken)
        client = fake_client(server, "openai", retry=streamchat.RetryPolicy(max_attempts=1))
        with pytest.raises(streamchat.ServerError, match="oops"):
            client.complete("hi")


def test_the_responses_helper_reads_parts_and_replies_too():
    with responses.RequestsMock() as rsps:
        add_stream(rsps, "openai", reply=lambda request: f"{len(request.documents)} document")
        client = streamchat.Client("openai", model="fake-model", api_key="k")
        answer = client.complete(["Read", Document(data=PDF)])
    assert answer.text == "1 document"


def test_the_estimated_usage_counts_an_image_as_a_few_hundred_tokens_not_its_base64():
    big = Image(data=PNG + bytes(300_000), media_type="image/png")
    with FakeServer() as server:
        client = fake_client(server, "openai")
        plain = client.complete("What is this?").usage
        pictured = client.complete(["What is this?", big]).usage
    assert plain is not None and pictured is not None
    assert 258 <= pictured.input_tokens - plain.input_tokens < 300
