"""The `streamchat` command: stream an answer into the terminal, or chat turn by turn.

It is a thin shell over the public API, so it doubles as a smoke test of a fresh install:
with no key and no network it picks the built-in fake provider and still streams. Output
goes to stdout as it arrives; everything about the run (which provider, retries, usage,
errors) goes to stderr, so `streamchat "..." > answer.txt` captures only the answer.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import IO, Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .client import Client
from .errors import ConfigurationError, StreamChatError
from .providers import presets
from .replaying import replay
from .stream import Stream
from .types import (
    ChatResponse,
    Event,
    FallbackEvent,
    RetryEvent,
    StatusEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallEvent,
)
from .version import __version__

EXIT_OK = 0
EXIT_PROVIDER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PREFERENCE = ("openai", "anthropic", "gemini", "xai", "groq", "openrouter", "deepseek", "opencode")
"""Which provider wins when several keys are set; other presets with a key follow in
registration order."""

OLLAMA_PORT = 11434
PROBE_SECONDS = 0.2
"""How long the start-up check for a local Ollama may take at most."""

DIM, RESET = "\x1b[2m", "\x1b[0m"

EPILOG = """\
Without -p, the first provider whose key variable is set is used (OPENAI_API_KEY,
ANTHROPIC_API_KEY, GEMINI_API_KEY, XAI_API_KEY, GROQ_API_KEY, OPENROUTER_API_KEY,
DEEPSEEK_API_KEY, ...), then a local Ollama if one answers, then the built-in fake
provider, which needs no key and no network.

With no prompt and a terminal on stdin, streamchat starts an interactive chat:
Ctrl-C stops the answer being written, Ctrl-D quits.

Exit status: 0 success, 1 provider error, 2 usage error, 130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamchat",
        description="Stream a chat completion from an LLM provider into the terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "prompt", nargs="*",
        help="the prompt (words are joined by spaces); read from stdin when piped",
    )
    parser.add_argument(
        "-p", "--provider", metavar="PROVIDER[:MODEL]",
        help="provider id such as openai, anthropic, gemini, ollama, groq or fake",
    )
    parser.add_argument("-m", "--model", help="model name (overrides one given with -p)")
    parser.add_argument("-s", "--system", help="system prompt")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="cap on output tokens")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    parser.add_argument(
        "--thinking", action="store_true",
        help="ask for reasoning and show it (dimmed on a terminal)",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON event per line instead of the text",
    )
    parser.add_argument("--replay", metavar="FILE", help="play back a recorded raw stream")
    parser.add_argument(
        "-w", "--wire", metavar="FORMAT",
        help="wire format of the --replay recording: openai (default), openai-responses, "
        "anthropic, gemini or ollama",
    )
    parser.add_argument("--record", metavar="FILE", help="save the raw bytes of the stream")
    parser.add_argument(
        "--base-url", metavar="URL",
        help="send requests here; without -p, to an OpenAI-compatible server",
    )
    parser.add_argument("--no-color", action="store_true", help="never use ANSI colours")
    parser.add_argument("--version", action="version", version=f"streamchat {__version__}")
    return parser


# -- choosing a provider --------------------------------------------------------------


def ollama_address(value: Optional[str]) -> Tuple[str, int]:
    """Host and port from OLLAMA_HOST, read the way Ollama itself reads it."""
    value = (value or "").strip()
    if not value:
        return "localhost", OLLAMA_PORT
    default_port = OLLAMA_PORT
    if "://" in value:
        # NOTE: Ollama takes an explicit scheme without a port to mean that scheme's port.
        default_port = 443 if value.lower().startswith("https://") else 80
    else:
        value = "http://" + value
    parts = urlsplit(value)
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    return parts.hostname or "localhost", port


def reachable(host: str, port: int, timeout: float = PROBE_SECONDS) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def choose_provider(environ: Mapping[str, str]) -> Tuple[str, Optional[str], str]:
    """(provider, base_url or None, why) for a run that named no provider."""
    table = presets()
    order = [name for name in PREFERENCE if name in table]
    order += [
        name for name, preset in table.items()
        if name not in order and preset.key_required and preset.key_env and preset.base_url
    ]
    for name in order:
        for variable in table[name].key_env:
            if environ.get(variable):
                return name, None, f"{variable} is set"
    host, port = ollama_address(environ.get("OLLAMA_HOST"))
    if reachable(host, port):
        scheme = "https" if port == 443 else "http"
        return "ollama", f"{scheme}://{host}:{port}", f"Ollama answers at {host}:{port}"
    return "fake", None, "no provider key is set and no local Ollama answers"


# -- printing -----------------------------------------------------------------------------


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
    if usage is None:
        return f"[{label}] no usage reported"
    line = f"[{label}] {usage.input_tokens or 0} in / {usage.output_tokens or 0} out tokens"
    if usage.reasoning_tokens:
        line += f" ({usage.reasoning_tokens} reasoning)"
    if usage.cost_usd is not None:
        line += f", ${usage.cost_usd:.6f}"
    return line


def response_label(response: Optional[ChatResponse], fallback: str) -> str:
    if response is not None and response.provider:
        return f"{response.provider} {response.model}".strip()
    return fallback


# -- running --------------------------------------------------------------------------------


def consume(stream: Stream, printer: Printer) -> Tuple[int, Optional[ChatResponse]]:
    """Print a stream to its end; (exit status, response or None on failure)."""
    try:
        for event in stream:
            printer.event(event)
    except KeyboardInterrupt:
        # Ctrl-C lands in this thread; the worker needs telling, and close() folds
        # what was shown into a cancelled response.
        stream.interrupt()
        stream.close()
        printer.end()
        printer.note("interrupted")
        return EXIT_INTERRUPTED, stream.response
    except ConfigurationError as exc:
        printer.end()
        printer.error(exc)
        return EXIT_USAGE, None
    except StreamChatError as exc:
        printer.end()
        printer.error(exc)
        return EXIT_PROVIDER_ERROR, None
    finally:
        stream.close()
    printer.end()
    return EXIT_OK, stream.response


def request_options(args: argparse.Namespace) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.thinking:
        options["thinking"] = True
    return options


def make_client(args: argparse.Namespace, err: IO[str]) -> Client:
    if args.provider:
        return Client(args.provider, model=args.model, base_url=args.base_url)
    if args.base_url:
        return Client("openai-compatible", model=args.model, base_url=args.base_url)
    name, base_url, why = choose_provider(os.environ)
    client = Client(name, model=args.model, base_url=base_url)
    what = "the built-in fake provider" if name == "fake" else name
    hint = "set a provider's key variable or pass" if name == "fake" else "choose another with"
    err.write(f"streamchat: using {what} ({why}); {hint} -p PROVIDER[:MODEL]\n")
    err.flush()
    return client


def interactive(client: Client, args: argparse.Namespace, printer: Printer) -> int:
    """A multi-turn chat on the terminal until Ctrl-D; the Chat keeps the history, an
    interrupted answer included (marked as interrupted)."""
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
        status, response = consume(chat.stream(line), printer)
        if status == EXIT_OK:
            printer.usage(response, response_label(response, client.provider))


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[str]) -> int:
    color = not args.no_color and "NO_COLOR" not in os.environ
    printer = Printer(out, err, json_lines=args.json, thinking=args.thinking, color=color)
    prompt = " ".join(args.prompt).strip()

    if args.replay:
        if prompt:
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

    client = make_client(args, err)
    if interactive_mode:
        return interactive(client, args, printer)
    stream = client.stream(
        prompt, system=args.system, record_to=args.record, **request_options(args)
    )
    status, response = consume(stream, printer)
    if status == EXIT_OK:
        printer.usage(response, response_label(response, client.provider))
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `streamchat` command and `python -m streamchat`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
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
