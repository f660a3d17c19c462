"""The Anthropic content blocks of one answer, kept as the API sent them.

The neutral fields (text, signed thinking, tool calls) are enough to send most answers back
on the next turn. Server tool blocks (web search, web fetch, code execution, MCP) and text
blocks carrying citations are not: the API wants them back unchanged, encrypted search
results and citation indexes included. `Blocks` records every block while the answer
streams, reports citations with their place in the answer text and the provider's own tool
runs as neutral events, and hands back the verbatim content when the neutral fields would
lose something.

Server tools: https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool
Citations: https://docs.anthropic.com/en/docs/build-with-claude/citations
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ..types import Event
from .citations import citation_event, parse_input, server_call, server_result

NEUTRAL_KINDS = frozenset({"text", "thinking", "redacted_thinking", "tool_use"})
"""Block types the neutral fields carry whole (text only without citations)."""

SERVER_CALL_KINDS = frozenset({"server_tool_use", "mcp_tool_use"})


def _citation(raw: Any, start: int, end: int) -> List[Event]:
    if not isinstance(raw, Mapping):
        return []
    return [
        citation_event(
            # NOTE: search_result_location names its page `source`; char_location and
            # page_location cite a document by title; web results carry url and title.
            url=raw.get("url") or raw.get("source"),
            title=raw.get("title") or raw.get("document_title"),
            cited_text=raw.get("cited_text"),
            start=start,
            end=end,
            source=raw.get("type"),
        )
    ]


class _Block:
    __slots__ = ("citations", "pieces", "raw", "signature", "start")

    def __init__(self, raw: Dict[str, Any], start: int) -> None:
        self.raw = raw
        self.pieces: List[str] = []
        self.start = start
        self.citations: Optional[List[Any]] = None
        self.signature: Optional[str] = None


class Blocks:
    """Every content block of one answer, by index, with the answer text's length so far.

    The length (`chars`) is what citation offsets are measured against: a text block
    that cites spans from the length when it opened to the length when it closed.
    """

    def __init__(self) -> None:
        self.chars = 0
        self._blocks: Dict[Any, _Block] = {}
        self._order: List[Any] = []
        self._names: Dict[str, str] = {}
        self._opaque = False

    def start(self, index: Any, block: Mapping[str, Any]) -> List[Event]:
        kind = block.get("type")
        record = _Block(dict(block), self.chars)
        if index not in self._blocks:
            self._order.append(index)
        self._blocks[index] = record
        citations = block.get("citations")
        if kind not in NEUTRAL_KINDS or citations:
            self._opaque = True
        if kind == "text":
            text = block.get("text")
            if isinstance(text, str) and text:
                record.pieces.append(text)
                self.chars += len(text)
            if isinstance(citations, list):
                record.citations = list(citations)
            return []
        if kind == "thinking":
            thinking = block.get("thinking")
            if isinstance(thinking, str) and thinking:
                record.pieces.append(thinking)
            return []
        if kind in SERVER_CALL_KINDS:
            self._names[str(block.get("id") or "")] = str(block.get("name") or "")
            return []
        if isinstance(kind, str) and kind.endswith("tool_result"):
            # NOTE: a result block arrives whole in its start event (no deltas follow).
            call_id = str(block.get("tool_use_id") or "")
            return [server_result(call_id, self._names.get(call_id, ""), block.get("content"))]
        return []

    def text(self, index: Any, text: str) -> None:
        record = self._blocks.get(index)
        if record is not None:
            record.pieces.append(text)
        self.chars += len(text)

    def piece(self, index: Any, piece: str) -> None:
        """A fragment of thinking text or of a tool's input JSON."""
        record = self._blocks.get(index)
        if record is not None:
            record.pieces.append(piece)

    def signature(self, index: Any, signature: str) -> None:
        record = self._blocks.get(index)
        if record is not None:
            record.signature = signature

    def citation(self, index: Any, citation: Any) -> None:
        record = self._blocks.get(index)
        if record is not None:
            if record.citations is None:
                record.citations = []
            record.citations.append(citation)
            self._opaque = True

    def stop(self, index: Any) -> List[Event]:
        """Events that can only be told once a block is complete: the citations of a text
        block (whose span is now known) and the call of a server tool (whose input is)."""
        record = self._blocks.get(index)
        if record is None:
            return []
        kind = record.raw.get("type")
        if kind == "text":
            return [
                event
                for raw in record.citations or ()
                for event in _citation(raw, record.start, self.chars)
            ]
        if kind in SERVER_CALL_KINDS:
            arguments = parse_input("".join(record.pieces), record.raw.get("input"))
            return [server_call(record.raw.get("id"), record.raw.get("name"), arguments)]
        return []

    def content(self) -> Optional[List[Dict[str, Any]]]:
        """The answer's blocks as the API sent them, or None when the neutral fields
        carry all of it."""
        if not self._opaque:
            return None
        return [self._finished(self._blocks[index]) for index in self._order]

    @staticmethod
    def _finished(record: _Block) -> Dict[str, Any]:
        block = dict(record.raw)
        kind = block.get("type")
        if kind == "text":
            block["text"] = "".join(record.pieces)
            if record.citations is not None:
                block["citations"] = record.citations
        elif kind == "thinking":
            block["thinking"] = "".join(record.pieces)
            if record.signature is not None:
                block["signature"] = record.signature
        elif kind in SERVER_CALL_KINDS or kind == "tool_use":
            block["input"] = parse_input("".join(record.pieces), block.get("input"))
        return block
