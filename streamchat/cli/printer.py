"""Events to the terminal: the answer to stdout as it arrives, notes about the run to
stderr, so that redirecting stdout keeps only the answer."""

from __future__ import annotations

import json
from typing import IO, List, Optional

from ..errors import StreamChatError
from ..types import (
    ChatResponse,
    Citation,
    CitationEvent,
    Event,
    FallbackEvent,
    RefusalEvent,
    RetryEvent,
    ServerToolCallEvent,
    StatusEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallEvent,
)
from ..types.response import usage_summary

DIM, RESET = "\x1b[2m", "\x1b[0m"


class Printer:
    """Writes events as they arrive: the answer to `out`, notes about the run to `err`."""

    def __init__(
        self, out: IO[str], err: IO[str], *, json_lines: bool, thinking: bool, color: bool
    ) -> None:
        self.out = out
        self.err = err
        self.json_lines = json_lines
        self.thinking = thinking
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.color = color and self.tty
        self._in_thinking = False
        self._last = "\n"
        self._citations: List[Citation] = []
        self._refusal: Optional[List[str]] = None

    def event(self, event: Event) -> None:
        if self.json_lines:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
            return
        if isinstance(event, TextEvent):
            self._leave_thinking()
            self._write(event.text)
        elif isinstance(event, ThinkingEvent) and self.thinking and event.text:
            if not self._in_thinking:
                self._in_thinking = True
                if self.color:
                    self.out.write(DIM)
            self._write(event.text)
        elif isinstance(event, CitationEvent):
            self._citations.append(event.citation)
        elif isinstance(event, RefusalEvent):
            self._refusal = (self._refusal or []) + [event.text]
        elif isinstance(event, ServerToolCallEvent):
            self.note(f"the provider ran {event.name}({json.dumps(event.input)})")
        elif isinstance(event, ToolCallEvent):
            self.note(f"the model asked for the tool {event.name}({event.raw_arguments})")
        elif isinstance(event, RetryEvent):
            self.note(
                f"{event.error}; retrying in {event.delay:.1f} s "
                f"(attempt {event.attempt + 1} of {event.max_attempts})"
            )
        elif isinstance(event, FallbackEvent):
            self.note(f"{event.error}; falling back to {event.provider} {event.model}")
        elif isinstance(event, StatusEvent):
            self.note(event.message)

    def _write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()
            self._last = text[-1]

    def _leave_thinking(self) -> None:
        if self._in_thinking:
            self._in_thinking = False
            if self.color:
                self.out.write(RESET)
            self._write("\n\n")

    def end(self) -> None:
        """Close the answer: reset the colour and end the last line."""
        if self.json_lines:
            return
        if self._in_thinking:
            self._in_thinking = False
            if self.color:
                self.out.write(RESET)
        if self._last != "\n":
            self._write("\n")
        self._last = "\n"
        self._sources()
        if self._refusal is not None:
            # NOTE: a refusal is not the answer: it goes where notes go, not to stdout.
            self.note("the model refused: " + ("".join(self._refusal) or "(no reason given)"))
            self._refusal = None

    def _sources(self) -> None:
        """Numbered sources under the answer, each once, in the order first cited."""
        seen: List[str] = []
        for citation in self._citations:
            key = citation.url or citation.title or ""
            if key and key not in seen:
                seen.append(key)
        lines = []
        for number, key in enumerate(seen, 1):
            cited = next(c for c in self._citations if (c.url or c.title) == key)
            named = cited.title and cited.url not in (None, cited.title)
            title = f"{cited.title} " if named else ""
            lines.append(f"[{number}] {title}{key}")
        self._citations = []
        if lines:
            self._write("\nSources:\n" + "\n".join(lines) + "\n")

    def note(self, message: str) -> None:
        if self._last != "\n" and self.tty:
            # On a terminal both streams share the screen: start the note on its own line.
            self._write("\n")
        self.err.write(f"streamchat: {message}\n")
        self.err.flush()

    def error(self, exc: StreamChatError) -> None:
        if self.json_lines:
            payload = {"type": "error", "error": type(exc).__name__, "message": str(exc)}
            self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
            self.out.flush()
        self.note(f"{type(exc).__name__}: {exc}")

    def usage(self, response: Optional[ChatResponse], label: str) -> None:
        self.err.write(usage_line(response, label) + "\n")
        self.err.flush()


def usage_line(response: Optional[ChatResponse], label: str) -> str:
    """`[openai gpt-4.1-mini] 12 in / 40 out tokens, $0.000069`"""
    usage = response.usage if response is not None else None
    interrupted = response is not None and response.finish_reason in ("cancelled", "paused")
    if usage is None and interrupted:
        assert response is not None
        return (f"[{label}] interrupted after {len(response.text)} characters, before the "
                "provider reported usage (it counts at the end of an answer)")
    if usage is None:
        return f"[{label}] no usage reported"
    return f"[{label}] {usage_summary(usage)}" + (" (interrupted)" if interrupted else "")


def response_label(response: Optional[ChatResponse], fallback: str) -> str:
    if response is not None and response.provider:
        return f"{response.provider} {response.model}".strip()
    return fallback
