"""What the fake server received: requests as tests inspect them, and the body decoding
(Content-Length or chunked) that produces them.

Kept apart from the server so that a test reading `server.requests` depends only on
these plain records, and so the server itself stays about serving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from io import BufferedIOBase
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from ..types import Audio, Document, Image, Part


class Headers(Mapping[str, str]):
    """Request headers, looked up without regard to case."""

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = {k.lower(): (k, v) for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake server received."""

    method: str
    path: str
    """The path without the query string."""
    query: Mapping[str, str]
    headers: Headers
    json: Any
    """The parsed JSON body, or None when there was none or it was not JSON."""
    body: bytes = field(default=b"", repr=False)
    wire: Optional[str] = None
    """The wire format the path belongs to, or None for other paths."""
    parts: Tuple[Part, ...] = field(default=(), repr=False)
    """The content parts of the user turns and tool results, read back from the wire's
    shapes into streamchat's own: `Text`, `Image`, `Document`, `Audio`."""

    @property
    def images(self) -> List[Image]:
        """The images the request carried, in order."""
        return [p for p in self.parts if isinstance(p, Image)]

    @property
    def documents(self) -> List[Document]:
        """The documents the request carried, in order."""
        return [p for p in self.parts if isinstance(p, Document)]

    @property
    def audio(self) -> List[Audio]:
        """The recordings the request carried, in order."""
        return [p for p in self.parts if isinstance(p, Audio)]
    received_at: float = 0.0
    """When the request had arrived whole, on the `time.monotonic()` clock."""


def read_body(rfile: BufferedIOBase, transfer_encoding: str, content_length: str) -> bytes:
    """The request body, whether sent with a Content-Length or chunked (as requests does
    for a generator body)."""
    if "chunked" in transfer_encoding.lower():
        parts: List[bytes] = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline()
    length = int(content_length or 0)
    return rfile.read(length) if length else b""


def parse_json(raw: bytes) -> Any:
    """The body as JSON, or None when it is empty or not JSON."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
