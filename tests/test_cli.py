"""The `streamchat` command, run in-process through `main([...])` and once for real as
`python -m streamchat`: provider choice, output modes, replay, stdin, the interactive
chat with its Ctrl-C, and the exit codes."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from helpers import FIXTURES
from media import PDF, PNG, WAV, write_samples

import streamchat
import streamchat.testing.server as fake_server_module
from streamchat import Audio, Document, Image, Text, cli
from streamchat.cli import choose
from streamchat.cli.attach import attachment
from streamchat.testing import FakeServer
from streamchat.types import event_adapter

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 10.0  # only to fail instead of hanging; never a performance claim


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def provider_variables() -> List[str]:
    names = {"OLLAMA_HOST", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "NO_COLOR",
             "STREAMCHAT_PROVIDER"}
    for preset in streamchat.presets().values():
        names.update(preset.key_env)
        if preset.base_url_env:
            names.add(preset.base_url_env)
    return sorted(names)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No provider key, no base URL override, an OLLAMA_HOST where nothing answers, and
    conversations saved in a folder of the test's own."""
    for name in provider_variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    monkeypatch.setenv("STREAMCHAT_HOME", str(tmp_path / "streamchat-home"))


@pytest.fixture
def fake(clean_env, monkeypatch):
    """A FakeServer behind `Client("fake")` (and behind OpenAI when a test sets a key)."""
    with FakeServer() as server:
        monkeypatch.setattr(fake_server_module, "shared_server", lambda: server)
        yield server


class Terminal(io.StringIO):
    """Typed lines on a terminal; `None` in the list stands for Ctrl-C at the prompt."""

    def __init__(self, lines: List[Any]) -> None:
        super().__init__()
        self._lines = list(lines)

    def isatty(self) -> bool:
        return True

    def readline(self, size: int = -1) -> str:
        if not self._lines:
            return ""  # Ctrl-D
        line = self._lines.pop(0)
        if line is None:
            raise KeyboardInterrupt
        return line + "\n"


class CtrlCOnFirstText(io.StringIO):
    """Stdout that raises KeyboardInterrupt the first time answer text reaches it, as if
    the user pressed Ctrl-C while the answer was being written."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed = False

    def write(self, text: str) -> int:
        if not self.pressed and text and not text.startswith("> "):
            self.pressed = True
            raise KeyboardInterrupt
        return super().write(text)


def user_contents(request: Any) -> List[Dict[str, Any]]:
    return [{"role": m["role"], "content": m["content"]} for m in request.json["messages"]]


# -- one prompt ----------------------------------------------------------------------------


def test_prompt_streams_the_answer_from_the_fake_provider(fake, capsys):
    fake.enqueue(text="Hello from the fake!", usage={"input_tokens": 3, "output_tokens": 5})
    assert cli.main(["Hello"]) == 0
    out, err = capsys.readouterr()
    assert out == "Hello from the fake!\n"
    assert fake.last_request.json["messages"] == [{"role": "user", "content": "Hello"}]
    first, *rest = err.splitlines()
    assert first.startswith("streamchat: using the built-in fake provider (")
    assert "-p PROVIDER[:MODEL]" in first
    assert rest[-1].startswith("[fake fake-model] 3 in / 5 out tokens")


def test_words_of_the_prompt_are_joined(fake, capsys):
    assert cli.main(["Write", "a", "haiku"]) == 0
    assert fake.last_request.json["messages"][-1]["content"] == "Write a haiku"


def test_the_first_provider_with_a_key_is_chosen_and_cost_is_shown(fake, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    fake.enqueue(text="Hi.", usage={"input_tokens": 12, "output_tokens": 40})
    assert cli.main(["Hello"]) == 0
    out, err = capsys.readouterr()
    assert out == "Hi.\n"
    lines = err.splitlines()
    assert lines[0] == (
        "streamchat: using openai (OPENAI_API_KEY is set); choose another with -p PROVIDER[:MODEL]"
    )
    assert lines[-1] == "[openai gpt-4.1-mini] 12 in / 40 out tokens, $0.000069"
    assert fake.last_request.headers["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    "keys, expected",
    [
        ({"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}, "openai"),
        ({"GROQ_API_KEY": "k", "DEEPSEEK_API_KEY": "k"}, "groq"),
        ({"GOOGLE_API_KEY": "k", "XAI_API_KEY": "k"}, "gemini"),
        ({"OPENROUTER_API_KEY": "k"}, "openrouter"),
        ({"OPENAI_API_KEY": ""}, "fake"),
        ({}, "fake"),
    ],
)
def test_provider_preference_order(clean_env, keys, expected):
    environ = {"OLLAMA_HOST": os.environ["OLLAMA_HOST"], **keys}
    name, base_url, _ = choose.choose_provider(environ)
    assert name == expected
    assert base_url is None


def test_a_reachable_ollama_comes_before_the_fake(clean_env):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        name, base_url, why = choose.choose_provider({"OLLAMA_HOST": f"127.0.0.1:{port}"})
    assert (name, base_url) == ("ollama", f"http://127.0.0.1:{port}")
    assert str(port) in why
    environ = {"OLLAMA_HOST": f"127.0.0.1:{port}", "XAI_API_KEY": "k"}
    assert choose.choose_provider(environ)[0] == "xai"


@pytest.mark.parametrize(
    "value, address",
    [
        (None, ("localhost", 11434)),
        ("0.0.0.0", ("0.0.0.0", 11434)),
        ("ollama.lan:8080", ("ollama.lan", 8080)),
        ("http://gpu-box", ("gpu-box", 80)),
        ("https://gpu-box", ("gpu-box", 443)),
        ("http://127.0.0.1:11435/", ("127.0.0.1", 11435)),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(value, address):
    assert choose.ollama_address(value) == address


def test_the_ollama_probe_is_bounded(monkeypatch):
    timeouts: List[Any] = []
    connect = socket.create_connection

    def spy(address: Any, timeout: Any = None, *args: Any, **kwargs: Any) -> Any:
        timeouts.append(timeout)
        return connect(address, timeout, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    # 192.0.2.0/24 is reserved for documentation: nothing answers, packets may vanish.
    assert choose.reachable("192.0.2.1", 11434, timeout=0.2) is False
    assert timeouts == [0.2]  # the connect attempt itself carries the bound


def test_provider_and_model_options(fake, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    fake.enqueue(text="ok")
    code = cli.main(["-p", "anthropic:claude-haiku-4-5", "-m", "claude-opus-4-1",
                     "--base-url", fake.base_url("anthropic"), "-s", "Be terse.",
                     "--max-tokens", "64", "--temperature", "0.5", "hi"])
    assert code == 0
    out, err = capsys.readouterr()
    assert out == "ok\n"
    assert "using" not in err  # no choice was made for the user, so nothing to explain
    body = fake.last_request.json
    assert fake.last_request.wire == "anthropic"
    assert body["model"] == "claude-opus-4-1"
    assert body["system"] in ("Be terse.", [{"type": "text", "text": "Be terse."}])
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0.5


def test_base_url_alone_means_an_openai_compatible_server(fake, capsys):
    fake.enqueue(text="local answer")
    assert cli.main(["--base-url", fake.base_url(), "-m", "qwen3", "hi"]) == 0
    out, _ = capsys.readouterr()
    assert out == "local answer\n"
    assert fake.last_request.json["model"] == "qwen3"


# -- output modes ------------------------------------------------------------------------------


def test_json_prints_one_parseable_event_per_line(fake, capsys):
    fake.enqueue(text="one two three", chunk_size=4)
    assert cli.main(["--json", "hi"]) == 0
    out, _ = capsys.readouterr()
    events = [event_adapter.validate_python(json.loads(line)) for line in out.splitlines()]
    types = [event.type for event in events]
    assert types[0] == "start" and types[-1] == "done"
    assert types.count("text") >= 3
    assert "".join(e.text for e in events if e.type == "text") == "one two three"


def test_json_reports_a_failure_as_a_last_line_too(fake, capsys):
    fake.enqueue(status=400, body={"error": {"message": "bad things", "type": "invalid"}})
    assert cli.main(["--json", "-p", "fake", "hi"]) == 1
    out, err = capsys.readouterr()
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "error"
    assert last["error"] == "InvalidRequestError"
    assert "bad things" in last["message"]
    assert "InvalidRequestError" in err


def test_thinking_is_hidden_unless_asked_for(fake, capsys):
    fake.enqueue(thinking="Rivers flow downhill.", text="Water.")
    assert cli.main(["hi"]) == 0
    assert capsys.readouterr().out == "Water.\n"
    assert "thinking" not in fake.last_request.json


def test_thinking_is_shown_dimmed_on_a_terminal_only(fake, capsys, monkeypatch):
    fake.enqueue(thinking="Rivers flow downhill.", text="Water.")
    assert cli.main(["--thinking", "hi"]) == 0
    assert capsys.readouterr().out == "Rivers flow downhill.\n\nWater.\n"

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    fake.enqueue(thinking="Rivers flow downhill.", text="Water.")
    assert cli.main(["--thinking", "hi"]) == 0
    assert capsys.readouterr().out == "\x1b[2mRivers flow downhill.\x1b[0m\n\nWater.\n"

    for opt_out in (["--no-color"], []):
        if not opt_out:
            monkeypatch.setenv("NO_COLOR", "1")
        fake.enqueue(thinking="Rivers flow downhill.", text="Water.")
        assert cli.main(["--thinking", *opt_out, "hi"]) == 0
        assert "\x1b[" not in capsys.readouterr().out


# -- replay and record ------------------------------------------------------------------------


def test_replay_of_a_recording(clean_env, capsys):
    path = FIXTURES / "openai" / "text_usage.sse"
    expected = streamchat.replay(path).final()
    assert cli.main(["--replay", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == expected.text + "\n"
    assert "using" not in err
    assert err.splitlines()[-1].startswith(
        f"[replay openai] {expected.usage.input_tokens} in / {expected.usage.output_tokens} out"
    )


def test_replay_with_another_wire_format(clean_env, capsys):
    path = FIXTURES / "anthropic" / "text.sse"
    expected = streamchat.replay(path, provider="anthropic").final()
    assert cli.main(["--replay", str(path), "-w", "anthropic", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [event_adapter.validate_python(json.loads(line)) for line in lines]
    assert "".join(e.text for e in events if e.type == "text") == expected.text
    assert events[-1].type == "done"


def test_record_then_replay_gives_the_same_answer(fake, capsys, tmp_path):
    recording = tmp_path / "call.sse"
    fake.enqueue(text="Recorded words.", chunk_size=3)
    assert cli.main(["--record", str(recording), "hi"]) == 0
    live = capsys.readouterr().out
    assert recording.read_bytes().startswith(b"data: ")
    assert cli.main(["--replay", str(recording)]) == 0
    assert capsys.readouterr().out == live == "Recorded words.\n"


# -- stdin -------------------------------------------------------------------------------------


def test_prompt_from_piped_stdin(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Summarise this:\nline one\nline two\n"))
    fake.enqueue(text="A summary.")
    assert cli.main([]) == 0
    assert capsys.readouterr().out == "A summary.\n"
    content = fake.last_request.json["messages"][-1]["content"]
    assert content == "Summarise this:\nline one\nline two"


def test_an_argument_wins_over_stdin(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("ignored"))
    assert cli.main(["from the argument"]) == 0
    assert fake.last_request.json["messages"][-1]["content"] == "from the argument"


# -- exit codes ----------------------------------------------------------------------------------


def test_empty_stdin_is_a_usage_error(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    assert cli.main([]) == 2
    assert "no prompt" in capsys.readouterr().err
    assert fake.requests == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-p", "openaj", "hi"], "Did you mean 'openai'?"),
        (["-p", "anthropic", "hi"], "ANTHROPIC_API_KEY"),
        (["--temperature", "warm", "hi"], "invalid float value"),
        (["--bogus", "hi"], "unrecognized arguments"),
        (["-w", "anthropic", "hi"], "--replay"),
        (["--replay", "no/such/file.sse"], "no/such/file.sse"),
        (["--replay", str(FIXTURES / "openai" / "text_usage.sse"), "-w", "smoke"], "wire"),
        (["--replay", str(FIXTURES / "openai" / "text_usage.sse"), "a prompt"], "no prompt"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_traceback(fake, capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert fake.requests == []


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "Exit status" in capsys.readouterr().out


def test_provider_error_exits_1_with_the_message_and_no_traceback(fake, capsys):
    fake.enqueue(status=401, body={"error": {"message": "Incorrect API key provided"}})
    assert cli.main(["-p", "fake", "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "AuthenticationError" in err and "Incorrect API key provided" in err
    assert "Traceback" not in err


def test_a_failure_after_some_text_keeps_the_text_and_exits_1(fake, capsys, monkeypatch):
    fake.enqueue(text="Partial answer", error_event="server_error")
    assert cli.main(["-p", "fake", "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == "Partial answer\n"
    assert "ServerError" in err


def test_ctrl_c_during_the_answer_exits_130_promptly(fake, capsys, monkeypatch):
    fake.enqueue(text="a long answer that stalls", chunk_size=2, stall_after=3)
    stdout = CtrlCOnFirstText()
    monkeypatch.setattr(sys, "stdout", stdout)
    started = time.monotonic()
    assert cli.main(["hi"]) == 130
    assert time.monotonic() - started < HANG_GUARD
    assert stdout.pressed
    assert "interrupted" in capsys.readouterr().err
    assert fake.wait_for_disconnect(HANG_GUARD)


# -- interactive ---------------------------------------------------------------------------------


def test_interactive_chat_keeps_the_history_until_ctrl_d(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal(["My name is Ada.", "", "What is my name?"]))
    fake.enqueue(text="Hello Ada.")
    fake.enqueue(text="Ada.")
    assert cli.main(["-s", "Be brief."]) == 0
    out, err = capsys.readouterr()
    assert "Hello Ada.\n" in out and "Ada.\n" in out
    assert out.count("> ") == 4  # three lines typed (one blank), then Ctrl-D
    assert "Ctrl-C stops an answer, Ctrl-D quits" in err
    assert len(fake.requests) == 2
    assert user_contents(fake.requests[1]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_ctrl_c_in_a_chat_stops_the_answer_and_returns_to_the_prompt(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal([None, "Tell me a story.", "Shorter, please."]))
    stdout = CtrlCOnFirstText()
    monkeypatch.setattr(sys, "stdout", stdout)
    fake.enqueue(text="Once upon a time there was a river", chunk_size=5, stall_after=3)
    fake.enqueue(text="A river ran.")
    started = time.monotonic()
    assert cli.main([]) == 0
    assert time.monotonic() - started < HANG_GUARD
    assert stdout.pressed
    assert "A river ran.\n" in stdout.getvalue()
    assert "interrupted" in capsys.readouterr().err
    assert fake.wait_for_disconnect(HANG_GUARD)
    assert len(fake.requests) == 2
    history = user_contents(fake.requests[1])
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    # What had arrived before Ctrl-C stays in the conversation as the assistant's turn.
    assert "Once upon a time there was a river".startswith(history[1]["content"])
    assert history[1]["content"]
    assert history[2]["content"] == "Shorter, please."


def test_a_failed_turn_leaves_the_chat_usable(fake, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal(["first", "second"]))
    fake.enqueue(status=400, body={"error": {"message": "nope"}})
    fake.enqueue(text="fine")
    assert cli.main(["-p", "fake"]) == 0
    out, err = capsys.readouterr()
    assert "InvalidRequestError" in err and "Traceback" not in err
    assert "fine\n" in out
    history = user_contents(fake.requests[1])
    assert history[-1] == {"role": "user", "content": "second"}
    assert all(m["role"] == "user" for m in history)  # no answer was invented for "first"


def test_record_needs_a_prompt(fake, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", Terminal(["hi"]))
    assert cli.main(["--record", str(tmp_path / "x.sse")]) == 2
    assert fake.requests == []


# -- a real process ----------------------------------------------------------------------------


def subprocess_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in provider_variables()}
    env["OLLAMA_HOST"] = f"127.0.0.1:{closed_port()}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_module(*args: str, env: Dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamchat", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60,
    )


def test_python_m_streamchat_answers_with_no_key_and_no_network(tmp_path):
    result = run_module("hi", env=subprocess_env(STREAMCHAT_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "no answer on stdout"
    assert "hi" in result.stdout
    assert "fake provider" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("[fake fake-model] ")


def test_python_m_streamchat_reads_a_pipe_and_exits_1_on_provider_errors(tmp_path):
    with FakeServer() as server:
        server.enqueue(text="piped answer")
        server.enqueue(status=403, body={"error": {"message": "not for you"}})
        env = subprocess_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=server.base_url(),
                             STREAMCHAT_HOME=str(tmp_path))
        ok = run_module("--json", env=env, stdin="a piped prompt\n")
        assert ok.returncode == 0, ok.stderr
        events = [json.loads(line) for line in ok.stdout.splitlines()]
        assert "".join(e["text"] for e in events if e["type"] == "text") == "piped answer"
        assert server.requests[0].json["messages"][-1]["content"] == "a piped prompt"
        failed = run_module("hi", env=env)
        assert failed.returncode == 1
        assert "PermissionDeniedError" in failed.stderr and "not for you" in failed.stderr
        assert "Traceback" not in failed.stderr


# -- attachments (-a) ------------------------------------------------------------------------


def test_attached_files_and_urls_go_with_the_prompt(fake, tmp_path, capsys):
    write_samples(tmp_path)
    fake.enqueue(reply=lambda request: f"{len(request.images)} images, "
                                       f"{len(request.documents)} document")
    code = cli.main(["-p", "fake", "-a", str(tmp_path / "cat.png"), "--attach",
                     str(tmp_path / "report.pdf"), "-a", "https://example.com/dog.jpg",
                     "What", "are", "these?"])
    assert code == 0
    assert capsys.readouterr().out == "2 images, 1 document\n"
    parts = fake.last_request.parts
    assert parts[0] == Text("What are these?")
    assert [type(p) for p in parts[1:]] == [Image, Document, Image]
    assert (parts[1].data, parts[2].data, parts[3].url) == (PNG, PDF, "https://example.com/dog.jpg")


def test_the_kind_comes_from_the_bytes_then_the_name(tmp_path):
    (tmp_path / "voice").write_bytes(WAV)
    (tmp_path / "notes.txt").write_text("hello")
    assert isinstance(attachment(str(tmp_path / "voice")), Audio)
    assert attachment(str(tmp_path / "notes.txt")).media_type == "text/plain"
    assert isinstance(attachment("https://example.com/a.pdf"), Document)
    assert isinstance(attachment("https://example.com/render?id=3"), Image)


@pytest.mark.parametrize(("name", "content", "error"), [
    ("missing.png", None, "cannot attach"),
    ("blob.bin", b"\x00\x01\x02", "pass media_type"),
])
def test_a_file_that_cannot_be_attached_is_a_usage_error(fake, tmp_path, capsys,
                                                         name, content, error):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    assert cli.main(["-p", "fake", "-a", str(tmp_path / name), "hi"]) == 2
    assert error in capsys.readouterr().err
    assert fake.requests == []


def test_attachments_go_with_the_first_message_of_a_chat(fake, tmp_path, capsys,
                                                         monkeypatch):
    write_samples(tmp_path)
    monkeypatch.setattr(sys, "stdin", Terminal(["What is this?", "And now?"]))
    assert cli.main(["-p", "fake", "-a", str(tmp_path / "cat.png")]) == 0
    first, second = fake.requests
    assert [type(p) for p in first.parts] == [Text, Image]
    assert [type(p) for p in second.parts] == [Text, Image, Text]  # history, then the new line


def test_citations_are_numbered_sources_under_the_answer(fake, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    fake.enqueue(text="Python 3.14 is out.", citations=[
        {"url": "https://python.org", "title": "Python", "start": 0, "end": 11},
        {"url": "https://docs.python.org/3.14", "start": 12, "end": 18},
        {"url": "https://python.org", "title": "Python", "start": 0, "end": 18},
    ])
    assert cli.main(["-p", "openai", "news?"]) == 0
    out, err = capsys.readouterr()
    assert "Sources" not in err
    assert out == (
        "Python 3.14 is out.\n\nSources:\n[1] Python https://python.org\n"
        "[2] https://docs.python.org/3.14\n"
    )


def test_a_refusal_goes_to_stderr_not_the_answer(fake, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    fake.enqueue(refusal="I can't help with that.")
    assert cli.main(["-p", "openai", "something bad"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "streamchat: the model refused: I can't help with that." in err.splitlines()
