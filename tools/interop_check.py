"""Stream through third-party servers that speak the providers' wires, and check what
streamchat makes of them: LLMock (a mock of OpenAI, Responses, Anthropic and Gemini) and
LiteLLM's proxy (mock models, and LLMock behind it as the upstream).

Neither server is a dependency of streamchat: install each in a venv of its own and
point this script at its command. A server that is not found is skipped, and said so::

    python -m venv /tmp/llmock && /tmp/llmock/bin/pip install llmock
    python -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'
    python tools/interop_check.py --llmock /tmp/llmock/bin/llmock \\
        --litellm /tmp/litellm/bin/litellm

Everything listens on 127.0.0.1 only. Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

import streamchat

TOOLS = [streamchat.Tool(name="get_weather", description="Current weather in a city.",
                         parameters={"type": "object",
                                     "properties": {"city": {"type": "string"}},
                                     "required": ["city"]})]
RETRY = streamchat.RetryPolicy(max_attempts=3, initial_delay=0.05, rate_limit_floor=0.05,
                               max_delay=1.0)
failures: List[str] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: List[str], ready_url: str, env: Optional[Dict[str, str]] = None,
          wait: float = 120.0) -> subprocess.Popen[bytes]:
    """Start a server and wait until `ready_url` answers."""
    with tempfile.NamedTemporaryFile(prefix="interop-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited at start; its output is in {log.name}")
        try:
            urllib.request.urlopen(ready_url, timeout=2).read()
            return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"{command[0]} did not answer {ready_url}; its output is in {log.name}")


def check(name: str, run: Callable[[], Tuple[bool, str]]) -> None:
    try:
        ok, detail = run()
    except Exception as exc:  # a check that crashes is a failed check, reported as such
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failures.append(name)


def answer(client: streamchat.Client, prompt: str = "What is the weather in Paris?",
           **options: Any) -> Tuple[streamchat.ChatResponse, List[str]]:
    kinds: List[str] = []
    with client.stream(prompt, **options) as stream:
        kinds.extend(event.type for event in stream)
    return stream.final(), kinds


def expect_text(client: streamchat.Client, has_id: bool = True) -> Callable[[], Tuple[bool, str]]:
    def run() -> Tuple[bool, str]:
        response, _ = answer(client)
        usage = response.usage
        ok = bool(response.text) and response.finish_reason == "stop" and usage is not None \
            and bool(usage.output_tokens) and (response.response_id is not None) == has_id
        return ok, f"{response.text[:40]!r} {response.finish_reason} {usage}"
    return run


def expect_tool_call(client: streamchat.Client) -> Callable[[], Tuple[bool, str]]:
    def run() -> Tuple[bool, str]:
        response, _ = answer(client, tools=TOOLS)
        calls = [(c.name, c.arguments) for c in response.tool_calls]
        ok = response.finish_reason == "tool_calls" and bool(calls) \
            and all(c.id for c in response.tool_calls)
        return ok, f"{calls} {response.finish_reason}"
    return run


def expect_error(client: streamchat.Client, kind: type,
                 retried: Optional[bool]) -> Callable[[], Tuple[bool, str]]:
    """`retried`: whether a retry must come first (None: either, as when a stream breaks
    before or after its first text depending on the wire)."""
    def run() -> Tuple[bool, str]:
        kinds: List[str] = []
        try:
            with client.stream("Hi") as stream:
                kinds.extend(event.type for event in stream)
            stream.final()
        except streamchat.StreamChatError as exc:
            ok = isinstance(exc, kind) and retried in (None, "retry" in kinds)
            return ok, f"{type(exc).__name__} after {kinds.count('retry')} retries: {exc}"[:200]
        return False, f"no error; events {kinds}"
    return run


# -- LLMock ----------------------------------------------------------------------------

def llmock_checks(command: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start([command, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    f"{base}/_llmock/scenario")
    try:
        wires = {"openai": (f"{base}/v1", "gpt-4o-mini"),
                 "openai-responses": (f"{base}/v1", "gpt-4o-mini"),
                 "anthropic": (f"{base}/anthropic/v1", "claude-sonnet-4-5"),
                 "gemini": (f"{base}/gemini/v1beta", "gemini-2.5-flash")}
        for provider, (url, model) in wires.items():
            client = streamchat.Client(provider, model=model, api_key="sk-mock", base_url=url,
                                       retry=RETRY)

            def scenario(*behaviors: Dict[str, Any]) -> None:
                post(f"{base}/_llmock/reset", {})
                post(f"{base}/_llmock/scenario", {"behaviors": list(behaviors)})

            # NOTE: LLMock's Gemini chunks carry no responseId, which Google's do.
            has_id = provider != "gemini"
            post(f"{base}/_llmock/reset", {})
            check(f"llmock {provider} text", expect_text(client, has_id))
            post(f"{base}/_llmock/reset", {})
            check(f"llmock {provider} tool call", expect_tool_call(client))
            scenario({"type": "fail", "status": 429, "retry_after": 0.1})
            check(f"llmock {provider} one 429 then an answer", expect_text(client, has_id))
            scenario({"type": "fail", "status": 500, "times": 3})
            check(f"llmock {provider} 500 three times",
                  expect_error(client, streamchat.ServerError, retried=True))
            scenario({"type": "fail", "status": 401})
            check(f"llmock {provider} 401",
                  expect_error(client, streamchat.AuthenticationError, retried=False))
            scenario({"type": "stream_fault", "kind": "truncate", "after_chunks": 3,
                      "times": 3})
            check(f"llmock {provider} truncated stream",
                  expect_error(client, streamchat.ProtocolError, retried=None))
            client.close()
    finally:
        process.terminate()
        process.wait(10)


def post(url: str, payload: Any) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


# -- LiteLLM's proxy -------------------------------------------------------------------

LITELLM_MODELS = {
    "mock-text": {"model": "openai/gpt-4o-mini",
                  "mock_response": "Hello from the LiteLLM mock, streamed in pieces."},
    "mock-429": {"model": "openai/gpt-4o-mini", "mock_response": "litellm.RateLimitError"},
    "mock-500": {"model": "openai/gpt-4o-mini", "mock_response": "litellm.InternalServerError"},
    "mock-context": {"model": "openai/gpt-4o-mini",
                     "mock_response": "litellm.ContextWindowExceededError"},
}


def litellm_checks(command: str, upstream: Optional[str]) -> None:
    port = free_port()
    key = "sk-" + secrets.token_hex(16)
    models = [{"model_name": name, "litellm_params": {**params, "api_key": "unused"}}
              for name, params in LITELLM_MODELS.items()]
    if upstream:
        models += [
            {"model_name": "up-openai", "litellm_params": {
                "model": "openai/gpt-4o-mini", "api_key": "unused", "api_base": f"{upstream}/v1"}},
            {"model_name": "up-anthropic", "litellm_params": {
                "model": "anthropic/claude-sonnet-4-5", "api_key": "unused",
                "api_base": f"{upstream}/anthropic"}},
        ]
    config = {"model_list": models, "general_settings": {"master_key": key},
              "litellm_settings": {"num_retries": 0}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        json.dump(config, handle)  # JSON is YAML
    base = f"http://127.0.0.1:{port}"
    process = start([command, "--config", handle.name, "--host", "127.0.0.1", "--port", str(port)],
                    f"{base}/health/liveliness", env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    try:
        def client(provider: str, model: str) -> streamchat.Client:
            return streamchat.Client(provider, model=model, api_key=key, base_url=f"{base}/v1",
                                     retry=RETRY)

        def reported_cost() -> Tuple[bool, str]:
            response, _ = answer(client("openai", "mock-text"))
            usage = response.usage
            ok = response.finish_reason == "stop" and usage is not None \
                and usage.cost_usd is not None and response.request_id is not None
            return ok, f"{response.text[:30]!r} {usage} request_id={response.request_id}"

        check("litellm openai mock text, cost and call id", reported_cost)
        check("litellm openai 429", expect_error(client("openai", "mock-429"),
                                                 streamchat.RateLimitError, retried=True))
        check("litellm openai 500", expect_error(client("openai", "mock-500"),
                                                 streamchat.ServerError, retried=True))
        check("litellm openai context overflow",
              expect_error(client("openai", "mock-context"), streamchat.ContextOverflowError,
                           retried=False))
        # NOTE: the proxy answers a mocked /v1/messages stream with one JSON message.
        check("litellm anthropic mock text", expect_text(client("anthropic", "mock-text")))
        check("litellm anthropic 429", expect_error(client("anthropic", "mock-429"),
                                                    streamchat.RateLimitError, retried=True))
        if upstream:
            for provider in ("openai", "anthropic", "openai-responses"):
                for model in ("up-openai", "up-anthropic"):
                    post(f"{upstream}/_llmock/reset", {})
                    check(f"litellm {provider} {model} text",
                          expect_text(client(provider, model)))
                    post(f"{upstream}/_llmock/reset", {})
                    check(f"litellm {provider} {model} tool call",
                          expect_tool_call(client(provider, model)))
    finally:
        process.terminate()
        process.wait(10)


def found(option: Optional[str], name: str) -> Optional[str]:
    command = option or shutil.which(name)
    if command is None or not os.path.exists(command):
        print(f"SKIP {name}: not installed (install it in a venv of its own and pass "
              f"--{name} PATH/TO/bin/{name})")
        return None
    return command


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llmock", help="the llmock command (default: on PATH)")
    parser.add_argument("--litellm", help="the litellm command (default: on PATH)")
    args = parser.parse_args(argv)
    llmock = found(args.llmock, "llmock")
    litellm = found(args.litellm, "litellm")
    if llmock:
        llmock_checks(llmock)
    if litellm:
        upstream: Optional[subprocess.Popen[bytes]] = None
        upstream_url = None
        if llmock:
            port = free_port()
            upstream_url = f"http://127.0.0.1:{port}"
            upstream = start([llmock, "serve", "--host", "127.0.0.1", "--port", str(port)],
                             f"{upstream_url}/_llmock/scenario")
        try:
            litellm_checks(litellm, upstream_url)
        finally:
            if upstream is not None:
                upstream.terminate()
                upstream.wait(10)
    if not (llmock or litellm):
        print("nothing checked: no server found")
    else:
        print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
