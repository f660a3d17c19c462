"""Commands typed in a chat instead of a prompt: /model, /system, /clear, /save, /help."""

from __future__ import annotations

from ..client import Client
from ..errors import ConfigurationError
from ..providers import presets
from .conversation import Conversation

HELP = """\
/model [PROVIDER:]MODEL   answer with another model (or provider) from the next turn
/system [TEXT]            set the system prompt (none, without TEXT)
/clear                    start a new conversation (this one stays in `streamchat logs`)
/save NAME                keep this conversation under NAME (continue it with
                          `streamchat --conversation NAME`)
/help                     this list
Ctrl-C stops an answer, Ctrl-D quits; end a line with \\ to go on typing on the next one,
or put a prompt of several lines between two lines of three quotes (\"\"\")."""


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def run_command(line: str, conversation: Conversation) -> str:
    """Carry out a command; returns what to tell the user. Raises ConfigurationError for a
    command that cannot be done (the chat goes on)."""
    name, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    if name == "model":
        client = _client_for(rest, conversation)
        conversation.use(client)
        return f"now answering with {client.provider} {client.model}"
    if name == "system":
        conversation.set_system(rest or None)
        return f"system prompt: {rest!r}" if rest else "no system prompt"
    if name == "clear":
        conversation.restart()
        return f"new conversation {conversation.name!r}"
    if name == "save":
        conversation.rename(rest)
        return f"saved as {rest!r}; continue it with: streamchat --conversation {rest}"
    if name == "help":
        return HELP
    raise ConfigurationError(f"unknown command /{name}; /help lists the commands")


def _client_for(spec: str, conversation: Conversation) -> Client:
    if not spec:
        raise ConfigurationError("/model needs a model: /model MODEL or /model PROVIDER:MODEL")
    if spec.partition(":")[0] in presets():
        return Client(spec)
    # Another model of the same provider, at the same address.
    return Client(conversation.client.provider, model=spec, base_url=conversation.base_url)
