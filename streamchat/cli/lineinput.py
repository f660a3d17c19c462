"""Reading what the user types: line editing and a history kept between runs (readline,
when stdin is a terminal and the platform has it), and prompts of several lines.

A line ending in a backslash continues on the next line; a line of just three quotes
(\"\"\") starts a block that another such line ends, for pasting text that has its own
blank lines and backslashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

PROMPT = "> "
CONTINUATION = "… "
BLOCK = '"""'
HISTORY_LENGTH = 1000


class LineReader:
    def __init__(self, history_path: Optional[Path], terminal: bool) -> None:
        self._readline: Any = None
        self._history_path = history_path
        self._saved = 0
        if terminal:
            # Imported only for a terminal: importing it changes what input() does.
            try:
                import readline
            except ImportError:  # Windows without pyreadline: plain input still works
                return
            self._readline = readline
            readline.set_history_length(HISTORY_LENGTH)
            if history_path is not None and history_path.is_file():
                try:
                    readline.read_history_file(str(history_path))
                except OSError:
                    pass
        self._saved = self._length()

    def read(self) -> str:
        """One prompt, possibly of several lines. Raises EOFError (Ctrl-D) and
        KeyboardInterrupt (Ctrl-C) as input() does."""
        line = input(PROMPT)
        lines: List[str] = []
        if line.strip() == BLOCK:
            while True:
                more = input(CONTINUATION)
                if more.strip() == BLOCK:
                    break
                lines.append(more)
        else:
            while line.endswith("\\"):
                lines.append(line[:-1])
                line = input(CONTINUATION)
            lines.append(line)
        self._remember()
        return "\n".join(lines)

    def _length(self) -> int:
        return int(self._readline.get_current_history_length()) if self._readline else 0

    def _remember(self) -> None:
        """Append the lines typed since the last call to the history file, at once, so
        that two chats open side by side do not overwrite each other's history."""
        if self._readline is None or self._history_path is None:
            return
        added = self._length() - self._saved
        if added <= 0:
            return
        try:
            self._history_path.parent.mkdir(parents=True, exist_ok=True)
            if not self._history_path.exists():
                self._history_path.touch()
            self._readline.append_history_file(added, str(self._history_path))
        except (OSError, AttributeError):
            pass  # a history that cannot be kept is not worth failing a chat over
        self._saved = self._length()
