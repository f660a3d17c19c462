"""The conversation a run talks in: new, the last one (`-c`), or a named one
(`--conversation NAME`), saved to the local store after every turn."""

from __future__ import annotations

import argparse
import json
import sqlite3
from typing import IO, Optional

from ..chat import Chat
from ..client import Client
from ..errors import ConfigurationError
from ..types import Message
from .choose import make_client
from .options import request_options
from .printer import Printer
from .store import Saved, Store


class Conversation:
    """A Chat, the name it is stored under, and the store."""

    def __init__(
        self, store: Store, name: str, client: Client, chat: Chat, printer: Printer
    ) -> None:
        self.store = store
        self.name = name
        self.client = client
        self.chat = chat
        self.printer = printer
        self.base_url: Optional[str] = None
        """The --base-url given, kept for /model."""
        self._warned = False

    @classmethod
    def open(cls, args: argparse.Namespace, err: IO[str], printer: Printer) -> Conversation:
        store = Store()
        saved = _chosen(args, store)
        if saved is not None and not args.provider:
            # Go on where it was, unless told otherwise.
            args.provider = f"{saved.provider}:{saved.model}" if saved.model else saved.provider
        client = make_client(args, err)
        options = request_options(args)
        if saved is not None:
            chat = Chat.from_json(saved.chat_json, client, **options)
            if args.system:
                chat = _with_system(chat, client, args.system)
            printer.note(f"continuing the conversation {saved.name!r} "
                         f"({len(saved.messages)} messages)")
            conversation = cls(store, saved.name, client, chat, printer)
        else:
            name = args.conversation or store.fresh_name()
            chat = client.chat(system=args.system, **options)
            conversation = cls(store, name, client, chat, printer)
        conversation.base_url = args.base_url
        return conversation

    def save(self) -> None:
        """Store the conversation as it is now; a store that cannot be written is worth a
        warning, not a failed answer."""
        try:
            self.store.save(self.name, self.client.provider, self.client.model,
                            self.chat.to_json())
        except (OSError, sqlite3.Error) as exc:
            if not self._warned:
                self._warned = True
                self.printer.note(f"could not save the conversation in {self.store.path}: {exc}")

    def use(self, client: Client) -> None:
        self.client = client
        self.chat.use(client)
        self.save()

    def set_system(self, system: Optional[str]) -> None:
        self.chat = _with_system(self.chat, self.client, system)
        self.save()

    def restart(self) -> None:
        """Start a new conversation (the old one stays stored)."""
        self.chat = self.client.chat(system=self.chat.system, **self.chat.options)
        self.name = self.store.fresh_name()

    def rename(self, name: str) -> None:
        if not name:
            raise ConfigurationError("/save needs a name: /save NAME")
        self.save()
        self.store.rename(self.name, name)
        self.name = name


def _chosen(args: argparse.Namespace, store: Store) -> Optional[Saved]:
    if args.continue_ and args.conversation:
        raise ConfigurationError("use -c (the last conversation) or --conversation NAME")
    if args.continue_:
        saved = store.latest()
        if saved is None:
            raise ConfigurationError(
                f"no conversation to continue yet (none saved in {store.path})"
            )
        return saved
    if args.conversation:
        return store.load(args.conversation)
    return None


def _with_system(chat: Chat, client: Client, system: Optional[str]) -> Chat:
    """The same conversation (history and usage) under another system prompt, or none."""
    data = json.loads(chat.to_json())
    history = [m for m in data["history"] if m.get("role") != "system"]
    data["history"] = ([Message.system(system).model_dump(mode="json")] if system else []) + history
    return Chat.from_json(json.dumps(data), client, **chat.options)
