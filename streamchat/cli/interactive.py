"""The interactive chat: turn after turn on a terminal until Ctrl-D, with line editing and
history, prompts of several lines, /commands, and the conversation saved after each turn."""

from __future__ import annotations

from typing import Sequence

from ..errors import ConfigurationError
from ..types import Part, Prompt
from .commands import is_command, run_command
from .conversation import Conversation
from .lineinput import LineReader
from .printer import Printer, response_label
from .turn import EXIT_INTERRUPTED, EXIT_OK, consume


def interactive(
    conversation: Conversation,
    printer: Printer,
    reader: LineReader,
    attached: Sequence[Part] = (),
) -> int:
    """A multi-turn chat on the terminal until Ctrl-D; the Chat keeps the history, an
    interrupted answer included (marked as interrupted). Attached files go with the first
    message."""
    client = conversation.client
    printer.note(
        f"chatting with {client.provider} {client.model} (conversation "
        f"{conversation.name!r}); /help lists commands, Ctrl-C stops an answer, Ctrl-D quits"
    )
    while True:
        try:
            text = reader.read()
        except EOFError:
            printer.err.write("\n")
            return EXIT_OK
        except KeyboardInterrupt:
            printer.err.write("\n")
            continue
        if not text.strip():
            continue
        if is_command(text.strip()):
            try:
                printer.note(run_command(text.strip(), conversation))
            except ConfigurationError as exc:
                printer.note(str(exc))
            continue
        if text.startswith("//"):
            text = text[1:]  # a prompt that starts with a slash
        prompt: Prompt = [text, *attached] if attached else text
        try:
            stream = conversation.chat.stream(prompt)
        except ConfigurationError as exc:
            printer.note(str(exc))
            continue
        attached = ()
        status, response = consume(stream, printer)
        conversation.save()
        if status in (EXIT_OK, EXIT_INTERRUPTED):
            printer.usage(response, response_label(response, conversation.client.provider))
