"""The `streamchat` command: stream an answer into the terminal, or chat turn by turn.

It is a thin shell over the public API, so it doubles as a smoke test of a fresh install:
with no key and no network it picks the built-in fake provider and still streams. Output
goes to stdout as it arrives; everything about the run (which provider, retries, usage,
errors) goes to stderr, so `streamchat "..." > answer.txt` captures only the answer.

One module per job: `options` (the argument parser), `choose` (which provider when none
is named), `printer` (events to the terminal), `turn` (one streamed answer and its exit
status), `interactive` (the chat loop), `app` (wiring them together: `main`).
"""

from .app import main

__all__ = ["main"]
