"""Replaying a recorded raw stream through the very framing, decoder, worker and queue a
live stream uses, so a recording reproduces the events a live call gave."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Union

from .errors import ConfigurationError
from .options import RetryPolicy
from .providers import wire_format
from .stream import Stream, start_stream
from .target import Target
from .types import ChatRequest, HttpRequest, Message
from .wire.common import Endpoint

if TYPE_CHECKING:
    import threading

Source = Union[bytes, bytearray, str, "os.PathLike[str]", Iterable[bytes]]


class _ReplayBody:
    """Plays recorded chunks as if they came off a socket."""

    status_code = 200
    headers: Mapping[str, str] = {}

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, timeout: Optional[float] = None) -> bytes:
        for chunk in self._chunks:
            if chunk:
                return bytes(chunk)
        return b""

    def read_all(self, timeout: Optional[float] = None, limit: int = 0) -> bytes:
        return b"".join(self._chunks)

    def finish(self) -> None:
        """Nothing to drain: a recording has no connection."""

    def abort(self) -> None:
        self._chunks = iter(())

    def close(self) -> None:
        self.abort()


class _ReplayTransport:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def open(self, request: HttpRequest, **_: Any) -> _ReplayBody:
        return _ReplayBody(self._chunks)

    def raise_for_status(self, *_: Any) -> None:
        """A recording holds only the body of a successful response."""


def _chunks(source: Source, chunk_size: Optional[int]) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray)):
        data: Optional[bytes] = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            data = handle.read()
    else:
        data = None
    if data is not None:
        if not chunk_size:
            yield data
            return
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
        return
    if chunk_size:
        yield from _chunks(b"".join(source), chunk_size)  # type: ignore[arg-type]
    else:
        yield from source  # type: ignore[misc]


def replay(
    source: Source,
    provider: str = "openai",
    chunk_size: Optional[int] = None,
    *,
    model: str = "replay",
    cancel: Optional[threading.Event] = None,
) -> Stream:
    """A Stream of the events in a recorded raw body (bytes, a path, or byte chunks).

    `provider` is a wire-format id: openai, openai-responses, anthropic, gemini, ollama.
    `chunk_size=n` re-splits the bytes into n-byte pieces, as a slow network would.
    """
    if chunk_size is not None and chunk_size < 1:
        raise ConfigurationError("chunk_size must be a positive number of bytes")
    wire = wire_format(provider)
    target = Target(
        provider=provider,
        model=model,
        wire=wire,
        endpoint=Endpoint(provider=provider, base_url="replay://"),
        request=ChatRequest(model=model, messages=[Message.user("")]),
        transport=_ReplayTransport(_chunks(source, chunk_size)),
        retry=RetryPolicy(max_attempts=1),
    )
    return start_stream([target], cancel=cancel)
