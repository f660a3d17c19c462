"""Parts end to end: streams through the fake provider with an image and a PDF on every
wire, and a Chat that keeps parts in its history, sends them on later turns and saves them."""

from __future__ import annotations

import json

import pytest
from helpers import WIRES, fake_client
from media import B64_PDF, B64_PNG, PDF, PNG, WAV

from streamchat import Audio, ConfigurationError, Document, Image, Message, Text
from streamchat.chat import Chat
from streamchat.testing.server import FakeServer

PDF_WIRES = [w for w in WIRES if w != "ollama"]


@pytest.mark.parametrize("wire", PDF_WIRES)
def test_an_image_and_a_pdf_stream_through_the_fake_on_every_wire(wire):
    with FakeServer() as server:
        server.enqueue(text="A red square and a one-page report.")
        client = fake_client(server, wire)
        prompt = ["What are these?", Image(data=PNG), Document(data=PDF, name="report.pdf")]
        with client.stream(prompt) as stream:
            texts = list(stream.text_stream)
        assert "".join(texts) == "A red square and a one-page report."
        assert stream.response.finish_reason == "stop"
        sent = json.dumps(server.last_request.json)
        assert B64_PNG in sent and B64_PDF in sent


def test_ollama_streams_an_image_through_the_fake():
    with FakeServer() as server:
        server.enqueue(text="A red square.")
        response = fake_client(server, "ollama").complete(["What is this?", Image(data=PNG)])
        assert response.text == "A red square."
        assert server.last_request.json["messages"][-1]["images"] == [B64_PNG]


@pytest.mark.parametrize("wire", WIRES)
def test_chat_keeps_parts_and_sends_them_on_later_turns(wire):
    image = Image(data=PNG)
    with FakeServer() as server:
        chat = Chat(fake_client(server, wire))
        chat.send(["What is this?", image])
        chat.send("And its colour?")
        first, second = (json.dumps(r.json) for r in server.requests)
        assert B64_PNG in first and B64_PNG in second
    assert chat.history[0] == Message.user([Text("What is this?"), image])
    # Held once: the history holds the very part that was given, its base64 made once.
    assert chat.history[0].content[1] is image
    assert "base64" in image.__dict__


def test_chat_to_json_writes_bytes_as_base64_and_reads_them_back():
    with FakeServer() as server:
        client = fake_client(server, "anthropic")
        chat = Chat(client, system="Be brief.")
        chat.send([Text("Compare", cache=True), Image(data=PNG, detail="low"),
                   Document(url="https://example.com/a.pdf")])
        saved = chat.to_json()
        assert B64_PNG in saved and "\\x89PNG" not in saved
        again = Chat.from_json(saved, client)
    assert again.history == chat.history
    assert again.history[1].content[1].data == PNG


def test_a_tool_that_returns_parts_sends_them_as_its_result():
    def chart(city: str) -> list:
        """A chart of the city's weather."""
        return [Text(f"The chart for {city}:"), Image(data=PNG)]

    with FakeServer() as server:
        server.enqueue(tool_calls=[{"name": "chart", "arguments": {"city": "Paris"}}])
        server.enqueue(text="Sunny all week.")
        run = Chat(fake_client(server, "anthropic")).run("Weather?", tools=[chart])
        results = [e for e in run if e.type == "tool_result"]
        assert run.final().text == "Sunny all week."
        assert results[0].result == "The chart for Paris:"
        assert server.requests[1].parts[-2:] == (Text("The chart for Paris:"), Image(data=PNG))


def test_a_part_the_provider_cannot_take_fails_at_the_call_before_any_request():
    with FakeServer() as server:
        client = fake_client(server, "anthropic")
        with pytest.raises(ConfigurationError, match="anthropic cannot take Audio"):
            client.stream(["Transcribe", Audio(data=WAV)])
        assert server.requests == []


@pytest.mark.parametrize(
    "wire, part, words",
    [
        ("openai", Image(file_id="file-1"), "openai cannot take Image(file_id='file-1')"),
        ("openai", Document(url="https://example.com/a.pdf"), "takes no file URLs"),
        ("openai-responses", Audio(data=WAV), "openai-responses cannot take Audio(data="),
        ("anthropic", Audio(data=WAV), "anthropic cannot take Audio(data="),
        ("gemini", Document(file_id="files/abc"), "its media type is not known"),
        ("ollama", Document(data=PDF), "ollama cannot take Document(data="),
        ("ollama", Image(url="https://example.com/cat.png"), "ollama cannot take Image(url="),
    ],
)
def test_every_wire_refuses_at_the_call_naming_provider_and_part(wire, part, words):
    # The content.rst table's "no" cells, as a user meets them: client.stream and
    # chat.send raise before a request leaves.
    with FakeServer() as server:
        client = fake_client(server, wire)
        with pytest.raises(ConfigurationError) as caught:
            client.stream(["Look", part])
        assert words in str(caught.value) and caught.value.provider == wire
        with pytest.raises(ConfigurationError):
            Chat(client).send(["Look", part])
        assert server.requests == []


def test_a_tool_may_return_one_part_alone():
    # content.rst: "a list of parts, or one part".
    def photo() -> Image:
        """The photo."""
        return Image(data=PNG)

    with FakeServer() as server:
        server.enqueue(tool_calls=[{"name": "photo", "arguments": {}}])
        server.enqueue(text="A cat.")
        run = Chat(fake_client(server, "openai-responses")).run("What is it?", tools=[photo])
        assert run.final().text == "A cat."
        assert server.requests[1].parts[-1].data == PNG
        outputs = [i for i in server.requests[1].json["input"]
                   if i.get("type") == "function_call_output"]
        assert outputs[0]["output"][0]["type"] == "input_image"
