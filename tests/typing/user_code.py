"""User code as README.rst and docs/ write it, type-checked by tests/test_typing.py with
mypy --strict (and pyright where installed), without streamchat's own mypy plugin
settings. Never imported by the tests: only checked. Each line that must fail to check
lives in ../typing_errors.py instead."""

from __future__ import annotations

import threading
from typing import Dict, List, Optional

import pydantic

import streamchat


class City(pydantic.BaseModel):
    name: str
    population: int


def streams_and_reads(stop: threading.Event) -> Optional[str]:
    timeouts = streamchat.Timeouts(first_token=60, idle=30)
    retry = streamchat.RetryPolicy(max_attempts=2)
    with streamchat.Client("fake", retry=retry, timeouts=timeouts) as client:
        with client.stream("Write a haiku", cancel=stop) as stream:
            for event in stream:
                if event.type == "text":
                    chunk: str = event.text
                    print(chunk, end="")
                elif event.type == "tool_call":
                    arguments: Dict[str, object] = event.arguments
                    print(event.name, arguments)
        response = stream.final()  # never None: the typed way to the response
        if stream.response is not None:
            print(stream.response.text)
        usage = response.usage
        if usage is not None and usage.cost_usd is not None:
            print(f"${usage.cost_usd:.6f}")
        texts: List[str] = list(client.stream("hi").text_stream)
        print(texts)
        return response.finish_reason


def structured(client: streamchat.Client) -> int:
    response = client.complete("The largest city in Japan.", response_format=City)
    city: Optional[City] = response.parsed
    streamed = client.stream("Again.", response_format=City).final().parsed
    total = 0
    if city is not None:
        total += city.population
    if streamed is not None:
        total += streamed.population
    untyped = client.complete("hi").parsed  # no response_format: Any
    print(untyped)
    return total


def conversation(client: streamchat.Client) -> str:
    chat: streamchat.Chat = client.chat(system="Be brief.")
    answer: streamchat.ChatResponse = chat.send("Name a city.")
    city = chat.send("As JSON.", response_format=City).parsed
    with chat.stream("More?") as stream:
        for event in stream:
            if event.type == "text":
                print(event.text, end="")
    print(stream.final().text)
    return answer.text + (city.name if city is not None else "")


def errors(client: streamchat.Client) -> None:
    try:
        client.complete("hi")
    except streamchat.StreamTimeoutError as error:
        print(error.phase, error.partial.text if error.partial is not None else "")
    except streamchat.StreamChatError as error:
        print(error)


def surfaces(client: streamchat.Client) -> bytes:
    stream = client.stream("Explain SSE")
    stream.display()  # Jupyter
    client.chat().display("Hello")
    body = client.stream("hi").to_sse(keepalive=5.0)
    return b"".join(body)


def replayed() -> str:
    stream = streamchat.replay(b"data: [DONE]\n\n", provider="openai", chunk_size=7)
    return stream.final().text


def with_parts(client: streamchat.Client) -> str:
    photo = streamchat.Image.from_path("cat.png", detail="low")
    report = streamchat.Document(url="https://example.com/report.pdf")
    voice = streamchat.Audio(data=b"ID3\x04", media_type="audio/mpeg")
    answer = client.complete(["What is this?", photo])
    chat = client.chat()
    chat.send(streamchat.Message.user([streamchat.Text("Compare", cache=True), photo, report]))
    result = streamchat.Message.tool("call_1", [streamchat.Text("chart:"), photo])
    parts: List[streamchat.Part] = [photo, report, voice]
    data: Optional[bytes] = photo.data
    return answer.text + result.text + str(len(parts)) + str(data is None)
