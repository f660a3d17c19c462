"""Which provider a run uses when none is named: a key in the environment, then a local
Ollama, then the built-in fake provider (so a fresh install always answers)."""

from __future__ import annotations

import argparse
import os
import socket
from typing import IO, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..client import Client
from ..providers import presets

PREFERENCE = ("openai", "anthropic", "gemini", "xai", "groq", "openrouter", "deepseek", "opencode")
"""Which provider wins when several keys are set; other presets with a key follow in
registration order."""

OLLAMA_PORT = 11434
PROBE_SECONDS = 0.2
"""How long the start-up check for a local Ollama may take at most."""


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
