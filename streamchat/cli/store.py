"""Conversations kept on this machine, so that `streamchat -c` can go on with the last one,
`--conversation NAME` with a named one, and `streamchat logs` can list them.

One SQLite file (the standard library's sqlite3) in the user's data directory, or in
$STREAMCHAT_HOME when that is set (tests point it at a temporary folder). Each row holds a
conversation as `Chat.to_json()` writes it, saved after every turn, so a crash loses at
most the answer in progress. The readline history of typed lines lives beside it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any, List, NamedTuple, Optional

HOME_VARIABLE = "STREAMCHAT_HOME"


def data_dir() -> Path:
    """Where streamchat keeps its files: $STREAMCHAT_HOME, else the platform's place for
    an application's data (XDG on Linux)."""
    explicit = os.environ.get(HOME_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "streamchat"


class Saved(NamedTuple):
    """One stored conversation."""

    name: str
    provider: str
    model: str
    chat_json: str
    updated: float

    @property
    def messages(self) -> List[Any]:
        history = json.loads(self.chat_json).get("history") or []
        return [m for m in history if isinstance(m, dict)]


SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    name TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    chat_json TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


class Store:
    """The conversations file; each call opens and closes its own connection, so the
    store never holds the file between turns."""

    def __init__(self, folder: Optional[Path] = None) -> None:
        self.folder = folder or data_dir()
        self.path = self.folder / "conversations.db"
        self.history_path = self.folder / "input_history"

    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(self.path), timeout=5.0)
        connection.execute(SCHEMA)
        return connection

    def save(self, name: str, provider: str, model: str, chat_json: str) -> None:
        now = time.time()
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO "
                "UPDATE SET provider=excluded.provider, model=excluded.model, "
                "chat_json=excluded.chat_json, updated=excluded.updated",
                (name, provider, model, chat_json, now, now),
            )

    def rename(self, old: str, new: str) -> None:
        with closing(self._connect()) as connection, connection:
            connection.execute("DELETE FROM conversations WHERE name = ?", (new,))
            connection.execute("UPDATE conversations SET name = ? WHERE name = ?", (new, old))

    def load(self, name: str) -> Optional[Saved]:
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT name, provider, model, chat_json, updated FROM conversations "
                "WHERE name = ?", (name,),
            ).fetchone()
        return Saved(*row) if row else None

    def latest(self) -> Optional[Saved]:
        saved = self.recent(1)
        return saved[0] if saved else None

    def recent(self, limit: int = 20) -> List[Saved]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT name, provider, model, chat_json, updated FROM conversations "
                "ORDER BY updated DESC, rowid DESC LIMIT ?", (limit,),
            ).fetchall()
        return [Saved(*row) for row in rows]


    def fresh_name(self) -> str:
        """A name for a conversation the user did not name: when it started."""
        stem = time.strftime("%Y-%m-%d-%H%M%S")
        name, number = stem, 1
        while self.load(name) is not None:
            number += 1
            name = f"{stem}-{number}"
        return name
