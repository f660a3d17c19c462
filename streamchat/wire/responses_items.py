"""The output items of one Responses answer beyond text and function calls: citations
(`annotations` on output_text parts), refusals, the provider's own tool runs, and the
items a stateless next turn must send back.

Annotation offsets count characters within their output_text part; the answer text is the
parts one after another, so each part's offset in it is recorded when the part opens.

With `store=False` (or to avoid server-side state) the next request must carry the
previous output items itself, reasoning items with their `encrypted_content` included:
https://platform.openai.com/docs/guides/reasoning#keeping-reasoning-items-in-context
Annotations: https://platform.openai.com/docs/guides/tools-web-search#output-and-citations
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Optional

from ..types import Event
from .citations import citation_event, server_call, server_result

SERVER_ITEMS: Mapping[str, str] = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcp_list_tools",
}
"""Output items of tools OpenAI runs itself, and the neutral name of each."""

_RESULT_KEYS = ("outputs", "results", "output", "result", "tools", "error")
_NOT_INPUT = frozenset({"id", "type", "status", *_RESULT_KEYS})

NEUTRAL_ITEMS = frozenset({"message", "function_call"})
"""Items the neutral fields carry whole; any other item makes the output worth keeping."""


def _server_events(item: Mapping[str, Any]) -> List[Event]:
    kind = str(item.get("type"))
    name = item.get("name") if kind == "mcp_call" else SERVER_ITEMS[kind]
    call_id = item.get("id") or item.get("call_id")
    if kind == "web_search_call":
        action = item.get("action")
        action = action if isinstance(action, dict) else {}
        arguments = {k: v for k, v in action.items() if k != "sources"}
        output: Any = action.get("sources")
    else:
        arguments = {k: v for k, v in item.items() if k not in _NOT_INPUT}
        output = next((item[k] for k in _RESULT_KEYS if item.get(k) is not None), None)
    return [server_call(call_id, name, arguments), server_result(call_id, name, output)]


class OutputItems:
    """Citations, refusal and server tool runs of one answer, and its items as sent."""

    def __init__(self) -> None:
        self.chars = 0
        """Length of the answer text so far, in characters."""
        self.refused = False
        self._parts: Dict[Hashable, int] = {}
        self._items: Dict[int, Dict[str, Any]] = {}

    @staticmethod
    def _part_key(event: Mapping[str, Any]) -> Hashable:
        return (event.get("item_id") or event.get("output_index"), event.get("content_index"))

    def part_added(self, event: Mapping[str, Any]) -> None:
        self._parts.setdefault(self._part_key(event), self.chars)

    def annotation(self, event: Mapping[str, Any]) -> List[Event]:
        note = event.get("annotation")
        if not isinstance(note, dict):
            return []
        base = self._parts.get(self._part_key(event), 0)
        start, end = note.get("start_index"), note.get("end_index")
        if note.get("type") == "file_citation":
            # NOTE: a file citation marks one position (index), not a span.
            start = end = note.get("index")
        shifted = [
            base + value if isinstance(value, int) and not isinstance(value, bool) else None
            for value in (start, end)
        ]
        return [
            citation_event(
                url=note.get("url"),
                title=note.get("title") or note.get("filename"),
                start=shifted[0],
                end=shifted[1],
                source=note.get("type"),
            )
        ]

    def item_done(self, event: Mapping[str, Any], item: Mapping[str, Any]) -> List[Event]:
        index = event.get("output_index")
        if isinstance(index, int) and not isinstance(index, bool):
            self._items[index] = dict(item)
        if item.get("type") in SERVER_ITEMS:
            return _server_events(item)
        return []

    def provider_data(self, response: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """The output to send back next turn, when it holds more than the neutral fields:
        the final response's own list when it has one, else the items as they finished."""
        output = response.get("output")
        items: List[Any] = (
            output
            if isinstance(output, list) and output
            else [self._items[i] for i in sorted(self._items)]
        )
        kept = [item for item in items if isinstance(item, dict)]
        if all(item.get("type") in NEUTRAL_ITEMS for item in kept):
            return {}
        return {"openai-responses": {"output": kept}}


def replay_items(output: List[Any], stateless: bool) -> List[Dict[str, Any]]:
    """The kept output items as input items for the next turn.

    Stored responses (the default) let the server resolve each item by its id, so they go
    back verbatim. With `store=False` nothing was stored: an id the server cannot find is
    a 400, so ids are dropped, reasoning goes back only with its encrypted_content, and
    server tool items (which cannot be replayed without theirs) are left out; the
    message that reports their findings stays.
    """
    items: List[Dict[str, Any]] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        if stateless:
            kind = item.get("type")
            if kind == "reasoning" and not item.get("encrypted_content"):
                continue
            if kind not in NEUTRAL_ITEMS and kind != "reasoning":
                continue
            item = {k: v for k, v in item.items() if k != "id"}
        items.append(dict(item))
    return items


def synthetic_stream(index: int, item: Mapping[str, Any]) -> Optional[List[Dict[str, Any]]]:
    """The stream events a whole message item stands for (non-streamed bodies), so that
    text, refusals and annotations take the streaming path; None for other items."""
    if item.get("type") != "message":
        return None
    events: List[Dict[str, Any]] = []
    item_id = item.get("id") or f"item_{index}"
    for position, part in enumerate(item.get("content") or ()):
        if not isinstance(part, dict):
            continue
        where = {"item_id": item_id, "output_index": index, "content_index": position}
        events.append({"type": "response.content_part.added", **where, "part": part})
        if part.get("type") == "refusal":
            events.append({"type": "response.refusal.delta", **where, "delta": part.get("refusal")})
            continue
        events.append({"type": "response.output_text.delta", **where, "delta": part.get("text"),
                       "logprobs": part.get("logprobs")})
        for note in part.get("annotations") or ():
            events.append({"type": "response.output_text.annotation.added", **where,
                           "annotation": note})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events
