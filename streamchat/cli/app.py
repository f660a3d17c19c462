"""Wiring the command together: arguments in, one answer, a replay or a chat out."""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO, Optional, Sequence

from ..errors import ConfigurationError
from ..replaying import replay
from .attach import attachments
from .conversation import Conversation
from .interactive import interactive
from .lineinput import LineReader
from .logs import logs
from .options import build_parser
from .printer import Printer, response_label
from .turn import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, consume


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[str]) -> int:
    color = not args.no_color and "NO_COLOR" not in os.environ
    printer = Printer(out, err, json_lines=args.json, thinking=args.thinking, color=color)
    prompt = " ".join(args.prompt).strip()

    if args.replay:
        if prompt or args.attach:
            raise ConfigurationError("--replay plays a recording and takes no prompt")
        if not os.path.isfile(args.replay):
            raise ConfigurationError(f"cannot read the recording {args.replay!r}")
        wire = args.wire or "openai"
        status, response = consume(replay(args.replay, provider=wire), printer)
        if status == EXIT_OK:
            printer.usage(response, f"replay {wire}")
        return status
    if args.wire:
        raise ConfigurationError("--wire names the format of a --replay recording")

    interactive_mode = not prompt and stdin.isatty()
    if not prompt and not interactive_mode:
        prompt = stdin.read().strip()
        if not prompt:
            raise ConfigurationError("no prompt: pass one as an argument or pipe it on stdin")
    if interactive_mode and args.record:
        raise ConfigurationError("--record saves one answer: pass a prompt with it")

    parts = attachments(args.attach)
    conversation = Conversation.open(args, err, printer)
    if interactive_mode:
        reader = LineReader(conversation.store.history_path, terminal=True)
        return interactive(conversation, printer, reader, parts)
    stream = conversation.chat.stream([prompt, *parts] if parts else prompt,
                                      record_to=args.record)
    status, response = consume(stream, printer)
    conversation.save()
    if status in (EXIT_OK, EXIT_INTERRUPTED):
        printer.usage(response, response_label(response, conversation.client.provider))
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `streamchat` command and `python -m streamchat`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["logs"]:
            return logs(arguments[1:], sys.stdout)
        args = build_parser().parse_args(arguments)
    except SystemExit as exc:  # --help, --version and argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except ConfigurationError as exc:
        sys.stderr.write(f"streamchat: error: {exc}\n")
        return EXIT_USAGE
    try:
        return run(args, sys.stdout, sys.stderr, sys.stdin)
    except ConfigurationError as exc:
        sys.stderr.write(f"streamchat: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("\nstreamchat: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`streamchat ... | head`): nothing left to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
