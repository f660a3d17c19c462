"""`streamchat logs`: the conversations saved on this machine, newest first, or one of
them in full."""

from __future__ import annotations

import argparse
import time
from typing import IO, Any, Sequence

from ..errors import ConfigurationError
from .store import Saved, Store

PREVIEW = 60
"""Characters of the first question shown per conversation."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamchat logs",
        description="List the conversations saved on this machine, or show one.",
    )
    parser.add_argument("name", nargs="?", help="show this conversation in full")
    parser.add_argument("-n", "--count", type=int, default=20, metavar="N",
                        help="how many conversations to list (default 20)")
    return parser


def logs(argv: Sequence[str], out: IO[str]) -> int:
    args = build_parser().parse_args(list(argv))
    store = Store()
    if args.name:
        saved = store.load(args.name)
        if saved is None:
            raise ConfigurationError(f"no conversation named {args.name!r} in {store.path}")
        _show(saved, out)
        return 0
    conversations = store.recent(args.count) if store.path.exists() else []
    if not conversations:
        out.write(f"no conversations saved yet (in {store.path})\n")
        return 0
    for saved in conversations:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.updated))
        messages = saved.messages
        first = next((_text(m) for m in messages if m.get("role") == "user"), "")
        first = " ".join(first.split())
        if len(first) > PREVIEW:
            first = first[: PREVIEW - 1] + "…"
        out.write(f"{saved.name}  {when}  {saved.provider}:{saved.model}  "
                  f"{len(messages)} messages  {first}\n")
    return 0


def _show(saved: Saved, out: IO[str]) -> None:
    out.write(f"# {saved.name} ({saved.provider}:{saved.model})\n")
    for message in saved.messages:
        mark = " (interrupted)" if message.get("interrupted") else ""
        out.write(f"\n{message.get('role', '?')}{mark}:\n{_text(message)}\n")


def _text(message: Any) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: their text, and a word for each other part
        return " ".join(
            p.get("text") or f"[{p.get('type', 'part')}]" for p in content if isinstance(p, dict)
        )
    return ""
