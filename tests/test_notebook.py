"""Jupyter: a stream rendered live as Markdown through a real kernel (nbclient and
ipykernel), a ChatResponse shown as a cell's value, and a kernel interrupt mid-stream
that ends the cell within 100 ms of reaching Python and leaves no worker thread."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from streamchat import ChatResponse, Usage
from streamchat.testing import FakeServer
from streamchat.types import Citation, ThinkingBlock, ToolCall
from streamchat.types.response import response_markdown

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 60.0
"""Only to fail instead of hanging; never a performance claim."""


def test_a_response_renders_as_markdown_with_reasoning_folded_and_usage_last():
    response = ChatResponse(
        provider="openai", model="gpt-4.1-mini", text="The answer is **42**.",
        thinking="Think it through.", finish_reason="stop",
        thinking_blocks=[ThinkingBlock(text="Think it through.")],
        usage=Usage(input_tokens=12, output_tokens=40, cost_usd=0.000069),
    )
    markdown = response._repr_markdown_()
    assert markdown.index("<details><summary>Thinking</summary>") < markdown.index("**42**")
    assert markdown.rstrip().endswith("*openai gpt-4.1-mini: 12 in / 40 out tokens, $0.000069*")
    assert "partial" not in markdown


def test_sources_and_a_refusal_are_shown():
    cited = ChatResponse(text="Python 3.14 is out.", finish_reason="stop", citations=[
        Citation(url="https://python.org", start=0, end=6),
        Citation(url="https://docs.python.org", start=7, end=11),
        Citation(url="https://python.org", start=0, end=18),
    ])
    assert "Sources: [1](https://python.org) [2](https://docs.python.org)" in (
        response_markdown(cited)
    )
    refused = ChatResponse(refusal="Not this.", finish_reason="refusal")
    assert "**refused**: Not this." in response_markdown(refused)


def test_an_interrupted_response_is_marked_and_a_live_one_has_a_cursor():
    response = ChatResponse(
        provider="fake", model="m", text="Once upon", finish_reason="cancelled",
        tool_calls=[ToolCall(id="c1", name="lookup", arguments={}, raw_arguments="{}")],
    )
    assert "**cancelled**: the answer above is partial" in response_markdown(response)
    assert "**tool call** `lookup({})`" in response_markdown(response)
    live = response_markdown(response.model_copy(update={"finish_reason": None}), live=True)
    assert live.startswith("Once upon ▌") and "partial" not in live


def test_streaming_and_showing_a_response_never_imports_ipython():
    code = (
        "import sys, streamchat\n"
        "r = streamchat.Client('fake').complete('hi')\n"
        "assert r._repr_markdown_()\n"
        "print('IPython' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD,
        cwd=str(ROOT), env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_display_outside_a_notebook_prints_the_text(capsys):
    import streamchat

    stream = streamchat.Client("fake").stream("hi")
    stream.display()
    assert stream.final().text in capsys.readouterr().out
    assert stream.final().finish_reason == "stop"


# -- a real kernel ---------------------------------------------------------------------------

SETUP = """\
import json, signal, sys, threading, time
sys.path.insert(0, {root!r})
import streamchat
client = streamchat.Client("openai", model="fake-model", api_key="sk-test", base_url={url!r})
"""

INTERRUPTED = """\
arrived = []
def note_arrival(signum, frame):
    arrived.append(time.monotonic())      # the interrupt has reached Python
    signal.default_int_handler(signum, frame)
signal.signal(signal.SIGINT, note_arrival)
try:
    client.stream("Tell me a long story").display()
except KeyboardInterrupt:
    ended = time.monotonic()
"""

REPORT = """\
print(json.dumps({
    "latency": ended - arrived[0],
    "workers": [t.name for t in threading.enumerate() if t.name.startswith("streamchat-")],
    "history": [m.role for m in chat.history],
}))
"""


def markdown_outputs(cell: Any) -> List[str]:
    return [
        output["data"]["text/markdown"] for output in cell.outputs
        if "text/markdown" in output.get("data", {})
    ]


def test_a_notebook_streams_live_and_a_kernel_interrupt_stops_it_cleanly():
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' brings nbformat")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' brings nbclient")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]' brings ipykernel")
    from jupyter_client import KernelManager
    with FakeServer() as server:
        server.enqueue(text="Rivers run to the sea.", thinking="A haiku needs water.",
                       chunk_size=4, usage={"input_tokens": 9, "output_tokens": 7})
        server.enqueue(text="A plain answer.")
        server.enqueue(text="Hello from the chat.")
        server.enqueue(text="Once upon a time there was a very long story", chunk_size=5,
                       stall_after=3)
        cells = [
            SETUP.format(root=str(ROOT), url=server.base_url("openai")),
            'client.stream("Write a haiku", thinking=True).display()',
            'client.complete("Say something")',
            'chat = client.chat()\nchat.display("Hello")',
            INTERRUPTED,
            REPORT,
        ]
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in cells]
        )
        # A blocking kernel manager, so that this thread can interrupt the kernel as the
        # notebook's stop button does (SIGINT to the kernel process).
        kernel = KernelManager(kernel_name="python3")
        runner = nbclient.NotebookClient(notebook, km=kernel, timeout=HANG_GUARD)
        failure: List[BaseException] = []

        def execute() -> None:
            try:
                runner.execute()
            except BaseException as exc:  # re-raised in the test's thread
                failure.append(exc)

        thread = threading.Thread(target=execute, daemon=True)
        thread.start()
        interrupted_cell = notebook.cells[4]
        deadline = time.monotonic() + HANG_GUARD
        # The story's first words are on screen: the stream is mid-way, then stalls.
        while not any("Once" in text for text in markdown_outputs(interrupted_cell)):
            assert thread.is_alive() and time.monotonic() < deadline, failure
            threading.Event().wait(0.02)
        kernel.interrupt_kernel()
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "the notebook did not finish"
        assert not failure, failure
        assert server.wait_for_disconnect(HANG_GUARD), "the provider's connection stayed open"

    haiku = markdown_outputs(notebook.cells[1])
    assert len(haiku) == 1, "one display area, redrawn in place"
    assert "<details><summary>Thinking</summary>\n\nA haiku needs water." in haiku[0]
    assert "Rivers run to the sea." in haiku[0] and "▌" not in haiku[0]
    assert "9 in / 7 out tokens" in haiku[0]
    value = [o for o in notebook.cells[2].outputs if o["output_type"] == "execute_result"]
    assert "A plain answer." in value[0]["data"]["text/markdown"]
    assert "Hello from the chat." in markdown_outputs(notebook.cells[3])[0]
    story = markdown_outputs(interrupted_cell)[0]
    assert story.startswith("Once") and "**cancelled**: the answer above is partial" in story
    report: Dict[str, Any] = json.loads(notebook.cells[5].outputs[0]["text"])
    assert report["workers"] == [], "a worker thread outlived its stream"
    assert report["history"] == ["user", "assistant"]
    # The contract: the cell ends within 100 ms of the interrupt reaching Python.
    assert 0 <= report["latency"] < 0.1, report
