"""The interactive command as a person uses it: a real process on a pseudo-terminal, keys
typed into it (arrows, Ctrl-C, Ctrl-D) and the screen read back, then `streamchat logs`
and `streamchat -c` on the saved conversation."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from streamchat.testing import FakeServer

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 30.0
"""Only to fail instead of hanging; never a performance claim."""
UP = b"\x1b[A"
CTRL_C = b"\x03"
CTRL_D = b"\x04"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX terminal")


class Terminal:
    """A process on a pseudo-terminal of its own (its controlling terminal, so that Ctrl-C
    reaches it as SIGINT, as in a real one)."""

    def __init__(self, argv: List[str], env: Dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(sys.executable, [sys.executable, *argv], env)
        self.screen = b""
        self._seen = 0

    def text(self) -> str:
        return self.screen.decode(errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def expect(self, text: str) -> str:
        """Wait until `text` appears after what the last expect saw; returns the screen
        in between."""
        wanted = text.encode()
        deadline = time.monotonic() + HANG_GUARD
        while True:
            found = self.screen.find(wanted, self._seen)
            if found >= 0:
                between = self.screen[self._seen:found].decode(errors="replace")
                self._seen = found + len(wanted)
                return between
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; the screen:\n{self.text()}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"the process ended before {text!r}:\n{self.text()}"
                self.screen += chunk

    def wait(self) -> int:
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.screen += os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the chat did not quit")


@pytest.fixture
def provider(tmp_path):
    with FakeServer() as server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "TERM": "xterm",
            "HOME": str(tmp_path),
            "STREAMCHAT_HOME": str(tmp_path / "home"),
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": server.base_url("openai"),
            "NO_COLOR": "1",
        }
        yield server, env


def contents(request) -> List[str]:
    return [m["content"] for m in request.json["messages"]]


def run(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamchat", *args], env=env, text=True,
                          capture_output=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL)


def test_a_chat_in_a_terminal_is_edited_recalled_interrupted_saved_and_continued(provider):
    server, env = provider
    server.enqueue(text="Hello Ada.")
    server.enqueue(text="Still Ada.")
    server.enqueue(text="Two lines read.")
    server.enqueue(text="Once upon a time there was a river", chunk_size=5, stall_after=3)
    server.enqueue(text="Brief.")
    chat = Terminal(["-m", "streamchat", "-p", "openai", "-m", "fake-model"], env)
    chat.expect("Ctrl-D quits")
    chat.expect("> ")
    chat.type(b"My name is Adx\x7fa.\r")            # a typo, rubbed out with Backspace
    chat.expect("Hello Ada.")
    chat.expect("in / ")                             # usage after the answer
    chat.expect("> ")
    chat.type(UP + b"\r")                            # the last line again, from history
    chat.expect("Still Ada.")
    assert contents(server.requests[1])[-1] == "My name is Ada."
    chat.expect("> ")
    chat.type(b"line one\\\r")                       # a backslash goes on to the next line
    chat.expect("… ")
    chat.type(b"line two\r")
    chat.expect("Two lines read.")
    assert contents(server.requests[2])[-1] == "line one\nline two"
    chat.expect("> ")
    chat.type(b"Tell me a story.\r")
    chat.expect("Once")
    chat.type(CTRL_C)
    chat.expect("interrupted")
    chat.expect("interrupted after")                 # what the turn cost, as far as known
    chat.expect("> ")
    assert server.wait_for_disconnect(HANG_GUARD)
    chat.type(b"/system Be brief.\r")
    chat.expect("system prompt: 'Be brief.'")
    chat.type(b"/save ada\r")
    chat.expect("saved as 'ada'")
    chat.type(b"Shorter?\r")
    chat.expect("Brief.")
    fifth = server.requests[4].json["messages"]
    assert fifth[0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in fifth[1:]] == ["user", "assistant"] * 4 + ["user"]
    assert "Once upon a time there was a river".startswith(fifth[8]["content"])
    chat.expect("> ")
    chat.type(CTRL_D)
    assert chat.wait() == 0

    listed = run(env, "logs")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("ada  ") and "openai:fake-model" in listed.stdout
    assert "My name is Ada." in listed.stdout
    shown = run(env, "logs", "ada")
    assert "assistant (interrupted):\nOnce" in shown.stdout

    server.enqueue(text="Continued.")
    continued = run(env, "-c", "And now?")
    assert continued.returncode == 0, continued.stderr
    assert continued.stdout == "Continued.\n"
    assert "continuing the conversation 'ada'" in continued.stderr
    assert contents(server.requests[5])[1] == "My name is Ada."
    assert contents(server.requests[5])[-1] == "And now?"


def test_typed_lines_are_remembered_between_chats(provider):
    server, env = provider
    server.enqueue(text="First.")
    first = Terminal(["-m", "streamchat", "-p", "openai", "-m", "fake-model"], env)
    first.expect("> ")
    first.type(b"remember this line\r")
    first.expect("First.")
    first.expect("> ")
    first.type(CTRL_D)
    assert first.wait() == 0

    server.enqueue(text="Second.")
    second = Terminal(["-m", "streamchat", "-p", "openai", "-m", "fake-model"], env)
    second.expect("> ")
    second.type(UP + b"\r")
    second.expect("Second.")
    assert contents(server.requests[1]) == ["remember this line"]
    second.expect("> ")
    second.type(CTRL_D)
    assert second.wait() == 0
