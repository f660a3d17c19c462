"""The clients under test, each driven the same way: streamchat, the floor, and the peer
SDKs that happen to be installed (never a dependency of streamchat).

The floor is the least any Python client can do with the same bytes: requests, reading
whatever has arrived (`read1`), splitting lines and one `json.loads` per event. It never
builds an object, so it marks the cost of the socket, HTTP and JSON alone.

Every client offers `texts(wire, base)`: an iterator of the text deltas of one stream in
arrival order, and `open(wire, base)`: a handle whose `stop()` interrupts it from another
thread (None when the client has no way to).
"""

from __future__ import annotations

import importlib.util
import json
import socket
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

PROMPT = "Write a long story."
MODELS = {
    "openai": "gpt-4.1-mini",
    "openai-responses": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}
API_PREFIX = {"openai": "/v1", "openai-responses": "/v1", "anthropic": "/v1",
              "gemini": "/v1beta", "ollama": ""}
"""What each provider's base URL ends with; the server ignores everything after <base>."""


class Handle:
    """One open stream: its text deltas, and a way to stop it from another thread."""

    def __init__(self, texts: Iterator[str], stop: Optional[Callable[[], None]],
                 cleanup: Callable[[], None] = lambda: None) -> None:
        self.texts = texts
        self.stop = stop
        self.cleanup = cleanup


class Client:
    name = "?"
    wires: Tuple[str, ...] = ()
    slow = False
    """Slow clients run shorter streams and fewer rounds, so the whole run stays short."""

    def prepare(self, wire: str, base: str) -> None:
        """Make ready to stream from `base` as a new client would: built, no connection."""

    def texts(self, wire: str, base: str) -> Iterator[str]:
        return self.open(wire, base).texts

    def open(self, wire: str, base: str) -> Handle:
        raise NotImplementedError

    def count(self, wire: str, base: str) -> int:
        """Read one stream to its end; the number of text deltas."""
        n = 0
        for _ in self.texts(wire, base):
            n += 1
        return n

    def close(self) -> None:
        pass


# -- streamchat ----------------------------------------------------------------------------


class StreamChat(Client):
    name = "streamchat"
    wires = ("openai", "openai-responses", "anthropic", "gemini", "ollama")

    def __init__(self) -> None:
        import streamchat

        self._sc = streamchat
        self._clients: Dict[str, Any] = {}

    def client(self, wire: str, base: str) -> Any:
        key = wire + base
        if key not in self._clients:
            self._clients[key] = self._sc.Client(
                wire, model=MODELS[wire], api_key="sk-bench", base_url=base + API_PREFIX[wire],
                retry=self._sc.RetryPolicy(max_attempts=1),
            )
        return self._clients[key]

    def prepare(self, wire: str, base: str) -> None:
        self.client(wire, base)

    def count(self, wire: str, base: str) -> int:
        n = 0
        for event in self.client(wire, base).stream(PROMPT):
            if event.type == "text":
                n += 1
        return n

    def open(self, wire: str, base: str) -> Handle:
        stream = self.client(wire, base).stream(PROMPT)
        texts = (event.text for event in stream if event.type == "text")
        return Handle(texts, stream.interrupt, stream.close)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


# -- the floor -----------------------------------------------------------------------------


def _text_of(wire: str, obj: Any) -> Optional[str]:
    """The text delta of a parsed event, if it is one (the floor's only interpretation)."""
    try:
        if wire == "openai":
            return obj["choices"][0]["delta"].get("content") or None  # type: ignore[no-any-return]
        if wire == "openai-responses":
            return obj.get("delta") if obj["type"] == "response.output_text.delta" else None
        if wire == "anthropic":
            return obj["delta"].get("text") if obj["type"] == "content_block_delta" else None
        if wire == "gemini":
            return obj["candidates"][0]["content"]["parts"][0].get("text") or None  # type: ignore[no-any-return]
        return obj["message"].get("content") or None  # type: ignore[no-any-return]
    except (KeyError, IndexError, TypeError):
        return None


class Floor(Client):
    name = "floor"
    wires = ("openai", "openai-responses", "anthropic", "gemini", "ollama")

    def __init__(self) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self._requests = requests
        self._adapter = HTTPAdapter
        self.session = self._session()

    def _session(self) -> Any:
        session = self._requests.Session()
        session.mount("http://", self._adapter(pool_maxsize=32))
        return session

    def prepare(self, wire: str, base: str) -> None:
        self.session.close()
        self.session = self._session()

    def _post(self, wire: str, base: str) -> Any:
        body = {"model": MODELS[wire], "messages": [{"role": "user", "content": PROMPT}],
                "stream": True}
        response = self.session.post(base + API_PREFIX[wire] + "/x", json=body, stream=True,
                                     headers={"Accept-Encoding": "identity"})
        response.raise_for_status()
        return response

    def count(self, wire: str, base: str) -> int:
        """The bare loop, inlined: read what arrived, split lines, json.loads each event."""
        response = self._post(wire, base)
        read1 = response.raw.read1
        loads = json.loads
        ndjson = wire == "ollama"
        rest = b""
        frames = 0
        while True:
            data = read1(65536)
            if not data:
                break
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if ndjson:
                    if line:
                        loads(line)
                        frames += 1
                elif line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
                    loads(line[5:])
                    frames += 1
        response.close()
        return frames

    def _texts(self, wire: str, response: Any) -> Iterator[str]:
        read1 = response.raw.read1
        rest = b""
        try:
            while True:
                data = read1(65536)
                if not data:
                    return
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    payload = line if wire == "ollama" else (
                        line[5:] if line.startswith(b"data:") else b"")
                    if payload.strip() and payload.strip() != b"[DONE]":
                        text = _text_of(wire, json.loads(payload))
                        if text:
                            yield text
        finally:
            response.close()

    def open(self, wire: str, base: str) -> Handle:
        response = self._post(wire, base)

        def cleanup() -> None:
            sock = getattr(getattr(response.raw, "connection", None), "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        # What a requests user has to stop a stream from another thread: close().
        return Handle(self._texts(wire, response), response.close, cleanup)

    def close(self) -> None:
        self.session.close()


class IterLinesFloor(Floor):
    """The everyday loop a user writes first: `requests` with `iter_lines()` and one
    `json.loads` per event (the floor issue 2 set its 0.5 target against)."""

    name = "iter_lines floor"

    def count(self, wire: str, base: str) -> int:
        response = self._post(wire, base)
        loads = json.loads
        frames = 0
        for line in response.iter_lines():
            if wire == "ollama":
                if line:
                    loads(line)
                    frames += 1
            elif line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
                loads(line[5:])
                frames += 1
        response.close()
        return frames


# -- peers ---------------------------------------------------------------------------------


class _SDK(Client):
    """A peer SDK: one client object per server, made on first use (the parent process
    only needs the peer's name, so it never imports the SDK)."""

    def __init__(self) -> None:
        self._clients: Dict[str, Any] = {}

    def make(self, base: str) -> Any:
        raise NotImplementedError

    def client(self, base: str) -> Any:
        if base not in self._clients:
            self._clients[base] = self.make(base)
        return self._clients[base]

    def prepare(self, wire: str, base: str) -> None:
        self.client(base)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


class OpenAISDK(_SDK):
    name = "openai SDK"
    wires = ("openai", "openai-responses")

    def make(self, base: str) -> Any:
        import openai

        return openai.OpenAI(api_key="sk-bench", base_url=base + "/v1", max_retries=0)

    def open(self, wire: str, base: str) -> Handle:
        client = self.client(base)
        if wire == "openai":
            stream = client.chat.completions.create(
                model=MODELS[wire], messages=[{"role": "user", "content": PROMPT}], stream=True)
            texts = (c.choices[0].delta.content for c in stream
                     if c.choices and c.choices[0].delta.content)
        else:
            stream = client.responses.create(model=MODELS[wire], input=PROMPT, stream=True)
            texts = (e.delta for e in stream if e.type == "response.output_text.delta")
        return Handle(texts, stream.close, stream.close)


class AnthropicSDK(_SDK):
    name = "anthropic SDK"
    wires = ("anthropic",)

    def make(self, base: str) -> Any:
        import anthropic

        return anthropic.Anthropic(api_key="sk-bench", base_url=base, max_retries=0)

    def open(self, wire: str, base: str) -> Handle:
        stream = self.client(base).messages.create(
            model=MODELS[wire], max_tokens=1024, stream=True,
            messages=[{"role": "user", "content": PROMPT}])
        texts = (e.delta.text for e in stream
                 if e.type == "content_block_delta" and e.delta.type == "text_delta")
        return Handle(texts, stream.close, stream.close)


class LiteLLM(Client):
    name = "litellm"
    wires = ("openai", "anthropic")
    slow = True

    def open(self, wire: str, base: str) -> Handle:
        import litellm

        if wire == "openai":
            kwargs = dict(model="openai/" + MODELS[wire], api_base=base + "/v1")
        else:
            kwargs = dict(model="anthropic/" + MODELS[wire], api_base=base)
        stream = litellm.completion(
            messages=[{"role": "user", "content": PROMPT}], api_key="sk-bench", stream=True,
            max_tokens=1024, num_retries=0, **kwargs)
        texts = (c.choices[0].delta.content for c in stream
                 if c.choices and c.choices[0].delta.content)
        close = getattr(getattr(stream, "completion_stream", None), "close", None)
        return Handle(texts, close)


PEERS: List[Tuple[str, Callable[[], Client]]] = [
    ("openai", OpenAISDK),
    ("anthropic", AnthropicSDK),
    ("litellm", LiteLLM),
]


def installed_peers() -> List[Callable[[], Client]]:
    return [factory for module, factory in PEERS if importlib.util.find_spec(module) is not None]


def make(name: str) -> Client:
    """A client by name, for the child processes of the concurrency scenario."""
    factories: Dict[str, Callable[[], Client]] = {"streamchat": StreamChat, "floor": Floor}
    factories.update({factory.name: factory for _, factory in PEERS})  # type: ignore[attr-defined]
    return factories[name]()

