"""The interactive chat: turn after turn on a terminal until Ctrl-D."""

from __future__ import annotations

import argparse
from typing import Sequence

from ..client import Client
from ..types import Part, Prompt
from .options import request_options
from .printer import Printer, response_label
from .turn import EXIT_OK, consume


def interactive(
    client: Client, args: argparse.Namespace, printer: Printer, attached: Sequence[Part] = ()
) -> int:
    """A multi-turn chat on the terminal until Ctrl-D; the Chat keeps the history, an
    interrupted answer included (marked as interrupted). Attached files go with the first
    message."""
    chat = client.chat(system=args.system, **request_options(args))
    printer.note(
        f"chatting with {client.provider} {client.model}; "
        "Ctrl-C stops an answer, Ctrl-D quits"
    )
    while True:
        try:
            line = input("> ")
        except EOFError:
            printer.err.write("\n")
            return EXIT_OK
        except KeyboardInterrupt:
            printer.err.write("\n")
            continue
        if not line.strip():
            continue
        prompt: Prompt = [line, *attached] if attached else line
        attached = ()
        status, response = consume(chat.stream(prompt), printer)
        if status == EXIT_OK:
            printer.usage(response, response_label(response, client.provider))
