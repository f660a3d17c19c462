"""Assembling tool calls from argument fragments, shared by every streaming adapter.

Providers stream a call as a start (id and name) followed by JSON fragments. The hard
part is identity: OpenAI-compatible servers key fragments by `index`, but some omit it,
some repeat index 0 for every call, and parallel calls can interleave. The assembler
keeps one slot per real call, keyed by whatever the adapter says identifies it, and emits
each finished call exactly once, in the order the calls began.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Hashable, List, Optional

from ..types import Event, ToolCallDeltaEvent, ToolCallEvent, ToolCallStartEvent


def parse_arguments(raw: str) -> Dict[str, Any]:
    """Arguments as a dict: empty text is `{}`; text that is not a JSON object is kept
    only in raw_arguments, because guessing at a broken object would be a silent lie."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Slot:
    __slots__ = ("id", "index", "name", "parts", "signature")

    def __init__(self, index: int, call_id: str, name: str) -> None:
        self.index = index
        self.id = call_id
        self.name = name
        self.parts: List[str] = []
        self.signature: Optional[str] = None


class ToolCallAssembler:
    """Tracks calls in progress and turns them into start, delta and complete events."""

    def __init__(self, id_prefix: str = "call") -> None:
        self._slots: Dict[Hashable, _Slot] = {}
        self._order: List[_Slot] = []
        self._finished: set[int] = set()
        self._id_prefix = id_prefix

    def __bool__(self) -> bool:
        return bool(self._order)

    def id_of(self, key: Hashable) -> Optional[str]:
        slot = self._slots.get(key)
        return slot.id if slot is not None else None

    def alias(self, key: Hashable, existing: Hashable) -> None:
        """Let another key (a call_id, an item_id) name an existing call."""
        if existing in self._slots:
            self._slots[key] = self._slots[existing]

    def start(
        self, key: Hashable, call_id: Optional[str], name: str, arguments: str = ""
    ) -> List[Event]:
        """Begin a call; the id is synthesised when the provider gives none."""
        index = len(self._order)
        slot = _Slot(index, call_id or f"{self._id_prefix}_{index}", name)
        self._slots[key] = slot
        self._order.append(slot)
        events: List[Event] = [ToolCallStartEvent(index=index, id=slot.id, name=name)]
        if arguments:
            events.extend(self.delta(key, arguments))
        return events

    def delta(self, key: Hashable, fragment: str) -> List[Event]:
        slot = self._slots.get(key)
        if slot is None or not fragment or slot.index in self._finished:
            return []
        slot.parts.append(fragment)
        return [ToolCallDeltaEvent(index=slot.index, id=slot.id, arguments=fragment)]

    def set_name(self, key: Hashable, name: str) -> None:
        slot = self._slots.get(key)
        if slot is not None and name and not slot.name:
            slot.name = name

    def set_signature(self, key: Hashable, signature: Optional[str]) -> None:
        slot = self._slots.get(key)
        if slot is not None and signature:
            slot.signature = signature

    def replace_arguments(self, key: Hashable, arguments: str) -> None:
        """Trust the provider's final copy of the arguments over our concatenation."""
        slot = self._slots.get(key)
        if slot is not None and arguments:
            slot.parts = [arguments]

    def finish(self, key: Hashable) -> List[Event]:
        """Complete one call; later fragments for it are ignored."""
        slot = self._slots.get(key)
        if slot is None or slot.index in self._finished:
            return []
        return [self._complete(slot)]

    def finish_all(self) -> List[Event]:
        """Complete every call still open, in the order they began."""
        return [self._complete(s) for s in self._order if s.index not in self._finished]

    def _complete(self, slot: _Slot) -> ToolCallEvent:
        self._finished.add(slot.index)
        raw = "".join(slot.parts) or "{}"
        return ToolCallEvent(
            index=slot.index,
            id=slot.id,
            name=slot.name,
            arguments=parse_arguments(raw),
            raw_arguments=raw,
            signature=slot.signature,
        )

    def whole(self, call_id: Optional[str], name: str, arguments: Any,
              signature: Optional[str] = None) -> List[Event]:
        """A call that arrives complete (Gemini, Ollama): start, one delta, done."""
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        key = ("whole", len(self._order))
        events = self.start(key, call_id, name, raw)
        self.set_signature(key, signature)
        events.extend(self.finish(key))
        return events
