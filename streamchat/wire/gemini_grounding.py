"""Gemini's built-in tools in an answer: Google Search grounding, URL context and code
execution, as citations and server tool events.

Grounding arrives as `groundingMetadata` on the candidate (in streams, complete on the
last chunk): `groundingChunks` are the sources, `groundingSupports` the spans of the answer
each source supports, with `segment.startIndex` / `endIndex` counted in UTF-8 bytes of the
answer text (a missing startIndex is 0, proto3's default). They are converted to character
offsets here, against the text streamed so far.

https://ai.google.dev/gemini-api/docs/google-search#attributing_sources_with_inline_citations
https://ai.google.dev/gemini-api/docs/url-context
https://ai.google.dev/gemini-api/docs/code-execution
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Set

from ..types import Event
from .citations import char_offset, citation_event, dedupe, server_call, server_result


def _chunk_source(chunk: Any) -> Mapping[str, Any]:
    if not isinstance(chunk, dict):
        return {}
    for key in ("web", "retrievedContext", "maps"):
        source = chunk.get(key)
        if isinstance(source, dict):
            return source
    return {}


class Grounding:
    """Citations and built-in tool runs of one candidate."""

    def __init__(self) -> None:
        self._pieces: List[str] = []
        self._seen: Set[str] = set()
        self._code_runs = 0

    def text(self, text: str) -> None:
        self._pieces.append(text)

    def metadata(self, candidate: Mapping[str, Any]) -> List[Event]:
        events: List[Event] = []
        grounding = candidate.get("groundingMetadata")
        if isinstance(grounding, dict) and grounding:
            queries = grounding.get("webSearchQueries")
            if isinstance(queries, list) and queries:
                events.append(server_call("google_search", "google_search", {"queries": queries}))
            events.extend(self._citations(grounding))
        urls = candidate.get("urlContextMetadata")
        metadata = urls.get("urlMetadata") if isinstance(urls, dict) else None
        if isinstance(metadata, list) and metadata:
            wanted = [m.get("retrievedUrl") for m in metadata if isinstance(m, dict)]
            events.append(server_call("url_context", "url_context", {"urls": wanted}))
            events.append(server_result("url_context", "url_context", metadata))
        # NOTE: metadata may repeat on later chunks; each thing is reported once.
        return dedupe(events, self._seen)

    def _citations(self, grounding: Mapping[str, Any]) -> List[Event]:
        chunks = grounding.get("groundingChunks")
        chunks = chunks if isinstance(chunks, list) else []
        supports = grounding.get("groundingSupports")
        encoded = "".join(self._pieces).encode("utf-8")
        events: List[Event] = []
        cited: Set[int] = set()
        for support in supports if isinstance(supports, list) else ():
            if not isinstance(support, dict):
                continue
            segment = support.get("segment")
            segment = segment if isinstance(segment, dict) else {}
            start, end = segment.get("startIndex", 0), segment.get("endIndex")
            begin = finish = None
            if isinstance(start, int) and isinstance(end, int):
                begin, finish = char_offset(encoded, start), char_offset(encoded, end)
            for index in support.get("groundingChunkIndices") or ():
                if not isinstance(index, int) or not 0 <= index < len(chunks):
                    continue
                cited.add(index)
                source = _chunk_source(chunks[index])
                events.append(
                    citation_event(
                        url=source.get("uri"),
                        title=source.get("title"),
                        start=begin,
                        end=finish,
                        source="grounding_chunk",
                    )
                )
        for index, chunk in enumerate(chunks):
            if index not in cited:
                # A source no span cites is still a source of the answer.
                source = _chunk_source(chunk)
                events.append(
                    citation_event(
                        url=source.get("uri"), title=source.get("title"), source="grounding_chunk"
                    )
                )
        return events

    def part(self, part: Dict[str, Any]) -> List[Event]:
        """Events of a code execution part; none for any other part."""
        code = part.get("executableCode")
        if isinstance(code, dict):
            self._code_runs += 1
            arguments = {k: v for k, v in code.items() if k != "id"}
            return [server_call(self._run_id(code), "code_execution", arguments)]
        result = part.get("codeExecutionResult")
        if isinstance(result, dict):
            output = {k: v for k, v in result.items() if k != "id"}
            return [server_result(self._run_id(result), "code_execution", output)]
        return []

    def _run_id(self, piece: Mapping[str, Any]) -> str:
        # NOTE: older models give no id; a result then answers the code run before it.
        given = piece.get("id")
        return given if isinstance(given, str) and given else f"code_execution_{self._code_runs}"
