"""Splitting `<think>...</think>` out of visible text, for models that reason inline.

DeepSeek R1, Qwen and their hosts put the reasoning at the start of the content between
tags, and a tag can be split across chunks (`<thi` + `nk>`). Only a tag at the very start of
the answer (after white space) opens reasoning, so an answer that merely talks about
`<think>` tags is not swallowed.
"""

from __future__ import annotations

from typing import List

from ..types import Event, TextEvent, ThinkingEvent, text_event

OPEN = "<think>"
CLOSE = "</think>"


class ThinkTagSplitter:
    """Feed content deltas; get text and thinking events with the tags removed."""

    def __init__(self) -> None:
        self._state = "start"  # start -> thinking -> after -> passing, or start -> passing
        self._held = ""
        self.passing = False
        """The last state: no tag can follow, a delta is plain text, and a decoder on its
        hot path may make the TextEvent itself instead of calling `feed`."""

    def feed(self, delta: str) -> List[Event]:
        if not self.passing and self._state == "after":
            # The newlines after </think> are dropped whichever delta they arrive in;
            # models usually send "</think>" and "\n\n" as separate tokens.
            delta = delta.lstrip("\n")
            if not delta:
                return []
            self.passing = True
        if self.passing:
            return [text_event({"text": delta})] if delta else []
        self._held += delta
        events: List[Event] = []
        if self._state == "start":
            stripped = self._held.lstrip()
            if stripped.startswith(OPEN):
                self._state = "thinking"
                self._held = stripped[len(OPEN):]
            elif OPEN.startswith(stripped):
                return events  # could still become "<think>": wait for more
            else:
                self.passing = True
                text, self._held = self._held, ""
                return [TextEvent(text=text)] if text else []
        end = self._held.find(CLOSE)
        if end != -1:
            thought = self._held[:end]
            rest = self._held[end + len(CLOSE):].lstrip("\n")
            self._held = ""
            self._state = "after"
            self.passing = bool(rest)
            if thought:
                events.append(ThinkingEvent(text=thought))
            if rest:
                events.append(TextEvent(text=rest))
            return events
        keep = _partial_suffix(self._held, CLOSE)
        thought = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep:]
        if thought:
            events.append(ThinkingEvent(text=thought))
        return events

    def close(self) -> List[Event]:
        """Release whatever was held back waiting for a tag that never came."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._state == "thinking":
            return [ThinkingEvent(text=held)]
        return [TextEvent(text=held)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a beginning of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
