"""The example page in a real headless Chromium, served by real threaded WSGI servers.

Under each server, the browser closes its tab while the provider is silent mid-answer:
the only way the server can learn that is a failed write, so the body's keep-alive
comment must make it fail, the server must close the body, and the provider's connection
must close. The page
also shows a server's `error` event apart from a lost connection.

Chromium and chromedriver come from the system packages (Debian: chromium,
chromium-driver). When they are missing and the tests run as root, the session installs
them with apt-get (set STREAMCHAT_TEST_APT=0 to forbid that); otherwise the tests are
skipped, saying why. The browser is driven over the W3C WebDriver protocol with
`requests`, so no browser library is needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest
import requests
from test_web import load_example, spy_streams

import streamchat
import streamchat.testing.server as fake_server_module
from streamchat.testing import FakeServer
from streamchat.web import sse_body

HANG_GUARD = 30.0
"""Only to fail instead of hanging; never a performance claim."""
KEEPALIVE = 0.2
"""The example's 15 s keep-alive, shortened so that the test does not wait for it."""
PACKAGES = ("chromium", "chromium-driver")


def _programs() -> Optional[Dict[str, str]]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return {"browser": browser, "driver": driver} if browser and driver else None


def _install() -> str:
    """Install the browser with apt-get; returns why it could not, or ''."""
    if os.environ.get("STREAMCHAT_TEST_APT", "1") == "0":
        return "STREAMCHAT_TEST_APT=0 forbids installing them"
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "installing them needs apt-get as root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    for commands in ([install], [["apt-get", "update", "-q"], install]):
        try:
            if all(subprocess.run(c, env=env, capture_output=True, timeout=900).returncode == 0
                   for c in commands):
                return ""
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"apt-get failed: {exc}"
    return "apt-get could not install " + " ".join(PACKAGES)


@pytest.fixture(scope="session")
def chromium() -> Dict[str, str]:
    programs = _programs()
    if programs is None:
        why = _install()
        programs = _programs()
        if programs is None:
            pytest.skip(f"Chromium and chromedriver are not installed ({' '.join(PACKAGES)}): "
                        f"{why or 'they are still missing after apt-get'}")
    return programs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Browser:
    """Just enough of the W3C WebDriver protocol, spoken to chromedriver."""

    def __init__(self, driver_url: str, session: str) -> None:
        self.url = f"{driver_url}/session/{session}"

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        response = requests.request(method, self.url + path, json=body, timeout=HANG_GUARD)
        value = response.json()["value"]
        assert response.ok, f"WebDriver {method} {path}: {value}"
        return value

    def script(self, source: str) -> Any:
        return self.call("POST", "/execute/sync", {"script": source, "args": []})

    def wait_for(self, source: str) -> Any:
        """Poll a script until it returns something truthy (the page updates itself)."""
        deadline = time.monotonic() + HANG_GUARD
        while True:
            value = self.script(source)
            if value:
                return value
            assert time.monotonic() < deadline, f"the page never satisfied: {source}"
            threading.Event().wait(0.05)

    def ask(self, question: str) -> None:
        self.script(
            "document.querySelector('input[name=q]').value = " + repr(question) + ";"
            "document.getElementById('send').click();"
        )


@pytest.fixture(scope="module")
def browser(chromium) -> Iterator[Browser]:
    port = _free_port()
    driver = subprocess.Popen(
        [chromium["driver"], f"--port={port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    driver_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                if requests.get(driver_url + "/status", timeout=1).json()["value"]["ready"]:
                    break
            except (requests.ConnectionError, ValueError):
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            threading.Event().wait(0.05)
        options = {
            "binary": chromium["browser"],
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run"],
        }
        created = requests.post(driver_url + "/session", timeout=HANG_GUARD, json={
            "capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}
        })
        assert created.ok, created.text
        session = created.json()["value"]["sessionId"]
        yield Browser(driver_url, session)
        requests.delete(f"{driver_url}/session/{session}", timeout=HANG_GUARD)
    finally:
        driver.terminate()
        driver.wait(HANG_GUARD)


SERVERS = ["werkzeug", "waitress", "django-runserver"]
"""Threaded WSGI servers the docs recommend or use: werkzeug's (`flask run`), waitress,
and Django's runserver (gunicorn's gthread worker needs fork and a master process, so it is
left to the docs)."""


@contextmanager
def serving(kind: str, monkeypatch) -> Iterator[Dict[str, Any]]:
    """An example app served by a real threaded WSGI server, answering through a
    FakeServer, with the keep-alive shortened."""
    with FakeServer() as fake:
        monkeypatch.setattr(fake_server_module, "shared_server", lambda: fake)
        monkeypatch.delenv("STREAMCHAT_PROVIDER", raising=False)
        monkeypatch.setattr(
            streamchat.Stream, "to_sse",
            lambda self, keepalive=KEEPALIVE: sse_body(self, keepalive=keepalive),
        )
        with _server(kind, monkeypatch) as (port, module):
            yield {"url": f"http://127.0.0.1:{port}/", "fake": fake,
                   "streams": spy_streams(module, monkeypatch)}


@contextmanager
def _server(kind: str, monkeypatch) -> Iterator[Tuple[int, Any]]:
    if kind == "werkzeug":
        from werkzeug.serving import make_server

        module = load_example("flask_app", monkeypatch)
        server = make_server("127.0.0.1", 0, module.app, threaded=True)
        with _running(server.serve_forever, server.shutdown):
            yield server.server_port, module
    elif kind == "waitress":
        waitress = pytest.importorskip("waitress", reason="pip install -e '.[test]'")
        module = load_example("flask_app", monkeypatch)
        server = waitress.create_server(module.app, host="127.0.0.1", port=0, threads=4)

        def stop() -> None:
            # Its loop runs while any channel is open (the browser keeps connections).
            for channel in list(server._map.values()):
                channel.close()
            server.task_dispatcher.shutdown()

        with _running(server.run, stop):
            yield server.effective_port, module
    else:
        pytest.importorskip("django", reason="pip install -e '.[test]'")
        import django
        from django.conf import settings
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.test.utils import override_settings

        if not settings.configured:
            settings.configure(SECRET_KEY="streamchat-tests")
        django.setup()
        module = load_example("django_app", monkeypatch)
        with override_settings(ROOT_URLCONF=module.__name__, ALLOWED_HOSTS=["127.0.0.1"],
                               DEBUG=False):
            server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
            server.set_app(module.application)
            with _running(server.serve_forever, server.shutdown):
                yield server.server_port, module
            server.server_close()


@contextmanager
def _running(serve: Any, stop: Any) -> Iterator[None]:
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop()
        thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the server did not stop"


@pytest.mark.parametrize("kind", SERVERS)
def test_closing_the_tab_mid_answer_closes_the_provider_connection(browser, kind, monkeypatch):
    with serving(kind, monkeypatch) as site:
        closing_the_tab_mid_answer(browser, site)


def closing_the_tab_mid_answer(browser: Browser, site: Dict[str, Any]) -> None:
    fake: FakeServer = site["fake"]
    # A few words, then the provider goes silent (a model thinking, a stall).
    fake.enqueue(text="Once upon a time there was a river", chunk_size=5, stall_after=3)
    home = browser.call("GET", "/window")
    browser.call("POST", "/window/new", {"type": "tab"})
    tabs = browser.call("GET", "/window/handles")
    tab = next(handle for handle in tabs if handle != home)
    browser.call("POST", "/window", {"handle": tab})
    browser.call("POST", "/url", {"url": site["url"]})
    browser.ask("Tell me a story")
    shown = browser.wait_for("return document.getElementById('answer').textContent")
    assert shown.startswith("Once")

    browser.call("DELETE", "/window")  # close the tab
    browser.call("POST", "/window", {"handle": home})
    assert fake.wait_for_disconnect(HANG_GUARD), "the provider's connection stayed open"
    stream = site["streams"][0]
    stream._worker.thread.join(HANG_GUARD)
    assert not stream._worker.thread.is_alive(), "the worker outlived the closed tab"
    deadline = time.monotonic() + HANG_GUARD
    while stream.response is None:  # the server thread is closing the body
        assert time.monotonic() < deadline, "the stream never ended"
        threading.Event().wait(0.01)
    assert stream.response.finish_reason == "cancelled"
    # What the page showed was sent before the silence (it may have shown only part).
    assert stream.response.text.startswith(shown)
    assert "Once upon a time there was a river".startswith(stream.response.text)


def test_the_page_shows_a_server_error_apart_from_a_lost_connection(browser, monkeypatch):
    with serving("werkzeug", monkeypatch) as site:
        showing_a_server_error(browser, site)


def showing_a_server_error(browser: Browser, site: Dict[str, Any]) -> None:
    fake: FakeServer = site["fake"]
    fake.enqueue(text="Partial", error_event="server_error")
    browser.call("POST", "/url", {"url": site["url"]})
    browser.ask("Fail, please")
    status = browser.wait_for("return document.getElementById('status').textContent"
                              ".startsWith('[') && document.getElementById('status')"
                              ".textContent")
    assert status.startswith("[ServerError: "), status
    assert browser.script("return document.getElementById('answer').textContent") == "Partial"
    assert len(fake.requests) == 1, "the page must not reconnect and ask again"
