"""Every python block of README.rst and docs/*.rst runs, as written, against the fake provider.

Each `.. code-block:: python` block runs on its own, in a fresh namespace and a temporary
working directory, with a hang guard. Every provider's key variable holds a dummy key and
every provider's base URL points at one FakeServer (through OPENAI_BASE_URL,
ANTHROPIC_BASE_URL and OLLAMA_HOST, and through `streamchat.register_preset` for the
presets without a variable), so a snippet that names openai, anthropic or gemini streams
from the fake with no key and no network. Blocks starting with `>>>` run as doctests.
A block right after a `.. skip-test` comment line is not run (snippets that need a
browser or a running server); keep those rare. A new page in docs/ is picked up by itself.
"""

from __future__ import annotations

import dataclasses
import doctest
import logging
import re
import signal
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from media import write_samples

import streamchat
import streamchat.providers
import streamchat.testing.server as fake_server_module
from streamchat.testing import FakeServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"
BLOCK_TIMEOUT = 30.0  # only to fail instead of hanging; never a performance claim

_DIRECTIVE = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(?:python3?|py|pycon)\s*$")
_OPTION = re.compile(r"^\s+:[\w-]+:")


@dataclasses.dataclass(frozen=True)
class Block:
    path: str
    """The document, relative to the repository root."""
    line: int
    """1-based line of the directive in the file."""
    code: str
    skip: bool


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def python_blocks(text: str, path: str = "<text>") -> List[Block]:
    """The python code blocks of a reStructuredText document, in order."""
    lines = text.splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            i += 1
            continue
        directive_line, indent = i, len(match.group(1))
        previous = i - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        skip = previous >= 0 and lines[previous].strip() == ".. skip-test"
        i += 1
        while i < len(lines) and _OPTION.match(lines[i]) and _indent(lines[i]) > indent:
            i += 1
        body: List[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        blocks.append(Block(path, directive_line + 1, code, skip))
    return blocks


def documents() -> List[Path]:
    """README.rst and every page of the guide."""
    return [README, *sorted((ROOT / "docs").rglob("*.rst"))]


def document_blocks() -> List[Block]:
    blocks: List[Block] = []
    for document in documents():
        if document.is_file() and "_build" not in document.parts:
            relative = document.relative_to(ROOT).as_posix()
            blocks.extend(python_blocks(document.read_text("utf-8"), relative))
    return blocks


BLOCKS = document_blocks()


def test_readme_and_guide_have_python_blocks():
    assert README.is_file(), (
        f"{README} is missing: the README's python blocks are the documentation's tests"
    )
    readme_blocks = [block for block in BLOCKS if block.path == "README.rst"]
    assert readme_blocks, f"{README} has no `.. code-block:: python` block to run"
    guide_blocks = [block for block in BLOCKS if block.path.startswith("docs/")]
    assert guide_blocks, "docs/ has no `.. code-block:: python` block to run"
    assert any(not block.skip for block in BLOCKS), "every python block is marked skip-test"


def test_block_parser_reads_options_indentation_and_skip_markers():
    text = textwrap.dedent(
        """\
        Title
        =====

        .. code-block:: python
           :caption: first

           import os

           if os:
               print("indented")

        Prose after the block.

        .. skip-test

        .. code-block:: python

            open_a_browser()

        * A list item:

          .. code-block:: python

             x = 1

        .. code-block:: console

            $ not python
        """
    )
    blocks = python_blocks(text, "guide.rst")
    assert {b.path for b in blocks} == {"guide.rst"}
    assert [(b.line, b.skip) for b in blocks] == [(4, False), (16, True), (22, False)]
    assert blocks[0].code == 'import os\n\nif os:\n    print("indented")\n'
    assert blocks[1].code == "open_a_browser()\n"
    assert blocks[2].code == "x = 1\n"


# -- the environment every block runs in -----------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def logging_as_found() -> Iterator[None]:
    """A block may configure logging (docs/logging.rst does): the root and streamchat
    loggers get their level and handlers back afterwards."""
    saved = [(log, log.level, list(log.handlers))
             for log in (logging.getLogger(), logging.getLogger("streamchat"))]
    yield
    for log, level, handlers in saved:
        log.setLevel(level)
        log.handlers[:] = handlers


@pytest.fixture
def fake_everywhere(server, monkeypatch, tmp_path, logging_as_found) -> FakeServer:
    server.clear()
    monkeypatch.setattr(fake_server_module, "shared_server", lambda: server)
    monkeypatch.delenv("STREAMCHAT_PROVIDER", raising=False)
    monkeypatch.chdir(tmp_path)
    write_samples(tmp_path)  # the cat.png, report.pdf and question.wav examples open
    registry = streamchat.providers._PRESETS
    for name, preset in streamchat.presets().items():
        for variable in preset.key_env:
            monkeypatch.setenv(variable, f"test-key-{variable.lower()}")
        if name == "fake":
            continue
        if preset.base_url_env:
            monkeypatch.setenv(preset.base_url_env, server.base_url(preset.wire))
            continue
        # Remembered first, so the original preset comes back after the test.
        monkeypatch.setitem(registry, name, preset)
        fields = {f.name: getattr(preset, f.name) for f in dataclasses.fields(preset)}
        fields.pop("name")
        fields["base_url"] = server.base_url(preset.wire)
        streamchat.register_preset(name, **fields)
    return server


class BlockTimedOut(Exception):
    pass


@contextmanager
def hang_guard(seconds: float, where: str) -> Iterator[None]:
    """Fail a block that does not finish, instead of hanging the test run (main thread,
    POSIX: the alarm interrupts even a blocking wait)."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise BlockTimedOut(f"{where} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_block(block: Block) -> None:
    where = f"{block.path} line {block.line}"
    namespace: Dict[str, Any] = {"__name__": "__docs__"}
    if block.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            block.code, namespace, where, str(ROOT / block.path), block.line
        )
        report: List[str] = []
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
        runner.run(test, out=report.append)
        assert runner.failures == 0, "".join(report)
        return
    exec(compile(block.code, where, "exec"), namespace)


def threaded(block: Block) -> None:
    """The guard where signals cannot help (another thread, no setitimer)."""
    errors: List[BaseException] = []

    def target() -> None:
        try:
            run_block(block)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(BLOCK_TIMEOUT)
    assert not worker.is_alive(), f"{block.path} line {block.line} did not finish"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.path}:{b.line}" for b in BLOCKS])
def test_documented_block_runs(block, fake_everywhere):
    if block.skip:
        pytest.skip(f"marked `.. skip-test` in {block.path}")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with hang_guard(BLOCK_TIMEOUT, f"{block.path} line {block.line}"):
            run_block(block)
    else:
        threaded(block)
