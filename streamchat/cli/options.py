"""The command's arguments: the parser and the request options they turn into."""

from __future__ import annotations

import argparse
from typing import Any, Dict

from ..version import __version__

EPILOG = """\
Without -p, the first provider whose key variable is set is used (OPENAI_API_KEY,
ANTHROPIC_API_KEY, GEMINI_API_KEY, XAI_API_KEY, GROQ_API_KEY, OPENROUTER_API_KEY,
DEEPSEEK_API_KEY, ...), then a local Ollama if one answers, then the built-in fake
provider, which needs no key and no network.

With no prompt and a terminal on stdin, streamchat starts an interactive chat:
Ctrl-C stops the answer being written, Ctrl-D quits, /help lists the chat's commands.
Conversations are saved on this machine: -c goes on with the last one, --conversation
NAME with a named one, and `streamchat logs` lists them (`streamchat logs NAME` shows
one). They live in $STREAMCHAT_HOME, else the user's data directory.

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
    parser.add_argument(
        "-a", "--attach", action="append", metavar="FILE_OR_URL",
        help="send an image, PDF, text file or recording with the prompt (repeatable)",
    )
    parser.add_argument(
        "-c", "--continue", dest="continue_", action="store_true",
        help="continue the last conversation",
    )
    parser.add_argument(
        "--conversation", metavar="NAME",
        help="continue the conversation NAME, or start one under that name",
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


def request_options(args: argparse.Namespace) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.thinking:
        options["thinking"] = True
    return options
