"""A real HTTP/1.1 server on 127.0.0.1 that answers like the providers do.

Tests that mock at the `requests` level never exercise sockets: chunked bodies, a stream
that stalls, a connection cut mid-body, a client that hangs up. This server does all of
that over loopback, scripted per request, and records what it received. Every thread it
starts ends when it is closed, so tests can assert that nothing is left behind.
"""

from __future__ import annotations

import atexit
import logging
import select
import socket
import socketserver
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Deque, List, NoReturn, Optional, Set, Tuple, Type
from urllib.parse import parse_qsl, urlsplit

from ..types import Part
from .recording import Headers, RecordedRequest, parse_json, read_body
from .render import (
    Rendered,
    answer_get,
    answer_post,
    base_path,
    not_found,
    read_parts,
    render_error,
    render_request,
    wire_for_path,
)
from .script import Script, make_script, replied

logger = logging.getLogger("streamchat.testing")

_POLL = 0.02
"""How often a stalled or pausing handler looks at its socket and the release flag."""


class FakeServer(ThreadingHTTPServer):
    """Speaks every wire format streamchat does, on an ephemeral port.

    Use it as a context manager (or call `start()` and `close()`); queue responses with
    `enqueue()`; read what arrived from `requests`.
    """

    daemon_threads = True
    request_queue_size = 128
    """Connections the kernel holds before the server accepts them: socketserver's 5
    resets bursts of concurrent streams (twenty clients released at one moment)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self._lock = threading.Condition()
        self._scripts: Deque[Script] = deque()
        self._requests: List[RecordedRequest] = []
        self._connections: Set[socket.socket] = set()
        self._handlers: List[threading.Thread] = []
        self._serve_thread: Optional[threading.Thread] = None
        self._closing = False
        self._closed = False
        self._release_generation = 0
        self._disconnects = 0
        self._seq = 0

    def server_bind(self) -> None:
        # No host name lookup (HTTPServer's stalls on a machine without DNS): numeric only.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"

    def base_url(self, wire: str = "openai") -> str:
        """The base URL a preset of this wire format (or an OpenAI-compatible one) uses."""
        return self.url + base_path(wire)

    def start(self) -> FakeServer:
        with self._lock:
            if self._closed:
                raise RuntimeError("this FakeServer was closed; create a new one")
            if self._serve_thread is not None:
                return self
            self._serve_thread = threading.Thread(
                target=self.serve_forever, kwargs={"poll_interval": 0.05},
                name="fake-provider", daemon=True,
            )
        self._serve_thread.start()
        return self

    def close(self) -> None:
        """Stop serving, release stalled handlers, cut open connections, join threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = self._closing = True
            self._release_generation += 1
            self._lock.notify_all()
        if self._serve_thread is not None:
            self.shutdown()
            self._serve_thread.join()
        with self._lock:
            connections = list(self._connections)
            handlers = list(self._handlers)
        for sock in connections:
            _shutdown(sock)
        self.server_close()
        for thread in handlers:
            thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    # --- scripting and records ----------------------------------------------------------

    def enqueue(self, script: Optional[Script] = None, **fields: Any) -> Script:
        """Queue the response for the next chat request; see `Script` for the fields."""
        if script is not None and fields:
            raise TypeError("pass either a Script or its fields, not both")
        script = script if script is not None else make_script(**fields)
        with self._lock:
            self._scripts.append(script)
        return script

    @property
    def pending(self) -> int:
        """Scripts queued but not yet used by a request."""
        with self._lock:
            return len(self._scripts)

    @property
    def requests(self) -> List[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> Optional[RecordedRequest]:
        with self._lock:
            return self._requests[-1] if self._requests else None

    def clear(self) -> None:
        """Forget queued scripts and recorded requests."""
        with self._lock:
            self._scripts.clear()
            self._requests.clear()

    def release(self) -> None:
        """Let every handler stalled right now carry on with the rest of its response."""
        with self._lock:
            self._release_generation += 1
            self._lock.notify_all()

    @property
    def disconnects(self) -> int:
        """How many times a client hung up while a response was still being sent."""
        with self._lock:
            return self._disconnects

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until `count` requests in all have arrived (since the last `clear()`).

        A stream sends its request from its own thread, so a test that drops or stops a
        stream at once cannot otherwise know whether its request ever left, nor which
        script it took.
        """
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= count, timeout)

    def wait_for_disconnect(self, timeout: float = 5.0, count: int = 1) -> bool:
        """Wait until clients have hung up mid-response `count` times in all."""
        with self._lock:
            return self._lock.wait_for(lambda: self._disconnects >= count, timeout)

    # --- plumbing used by the handler -----------------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        # Tracked here rather than by ThreadingMixIn, whose bookkeeping of daemon
        # threads differs between Python versions: close() must join every one.
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address),
            name="fake-provider-conn", daemon=True,
        )
        with self._lock:
            self._handlers = [t for t in self._handlers if t.is_alive()]
            self._handlers.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("fake server: error while handling %s", client_address, exc_info=True)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)
            closing = self._closing
        if closing:
            _shutdown(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)
            self._lock.notify_all()

    def _next_script(self) -> Tuple[Script, int]:
        with self._lock:
            self._seq += 1
            script = self._scripts.popleft() if self._scripts else Script()
            return script, self._seq

    def _note_disconnect(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._disconnects += 1
            self._lock.notify_all()

    def _generation(self) -> int:
        with self._lock:
            return self._release_generation

    def _stalled(self, generation: int) -> bool:
        with self._lock:
            return not self._closing and self._release_generation == generation

    @property
    def closing(self) -> bool:
        with self._lock:
            return self._closing


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _ClientGone(Exception):
    """The client hung up, or the server is closing: stop writing this response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each write waits for a delayed ACK: 40 ms
    server: FakeServer

    def version_string(self) -> str:
        return "streamchat-fake"

    def setup(self) -> None:
        super().setup()
        self.server._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake server: " + format, *args)

    # --- requests -----------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self._record(url.path, url.query, b"", None)
        answer = answer_get(url.path)
        self._respond(Script(framing="content-length"), answer or not_found(url.path))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        raw = read_body(self.rfile, self.headers.get("Transfer-Encoding", ""),
                        self.headers.get("Content-Length", ""))
        parsed = parse_json(raw)
        wire = wire_for_path(url.path)
        parts, problem = read_parts(wire, parsed)
        record = self._record(url.path, url.query, raw, parsed, wire, parts)
        if wire is None:
            counted = answer_post(url.path, parsed)  # a token counter, or no endpoint
            self._respond(Script(framing="content-length"), counted or not_found(url.path))
            return
        if problem is not None or (raw and parsed is None):
            message = problem or "The request body is not valid JSON."
            self._respond(Script(), render_error(wire, 400, message=message))
            return
        script, seq = self.server._next_script()
        try:
            script = replied(script, record)
        except Exception as exc:  # the test's own reply function failed: a 500 that says so
            logger.exception("fake server: the scripted reply raised")
            message = f"streamchat's fake provider: the scripted reply raised {exc!r}"
            self._respond(Script(), render_error(wire, 500, message=message))
            return
        if script.reset == "before_headers":
            self.close_connection = True
            return
        self._respond(script, render_request(script, wire, parsed, url.path, seq, time.time()))

    def _record(self, path: str, query: str, raw: bytes, parsed: Any,
                wire: Optional[str] = None, parts: Tuple[Part, ...] = ()) -> RecordedRequest:
        record = RecordedRequest(
            method=self.command, path=path, query=dict(parse_qsl(query, keep_blank_values=True)),
            headers=Headers(dict(self.headers.items())), json=parsed, body=raw, wire=wire,
            parts=parts, received_at=time.monotonic(),
        )
        self.server._record(record)
        return record

    # --- responses ----------------------------------------------------------------------

    def _respond(self, script: Script, rendered: Rendered) -> None:
        """Write the status, headers and body as the script's framing and faults say."""
        chunked = script.framing == "chunked"
        cut = script.reset == "after_first_byte"
        close = script.framing == "close" or rendered.truncated or cut
        self.send_response(rendered.status)
        for name, value in rendered.headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif script.framing == "content-length":
            self.send_header("Content-Length", str(sum(len(f) for f in rendered.frames)))
        if close:
            self.send_header("Connection", "close")
        try:
            self._guard(self.end_headers)
            if cut:
                self._send(rendered.body[: max(1, len(rendered.body) // 3)], chunked)
            else:
                self._body(script, rendered, chunked)
        except _ClientGone:
            close = True
        if close:
            self.close_connection = True

    def _body(self, script: Script, rendered: Rendered, chunked: bool) -> None:
        """The frames in as few writes as possible (one per frame only when paced, a break
        where the script stalls); a chunked body's end goes with its last frames, so the
        client finds it at once after the terminal event and keeps the connection."""
        frames = rendered.frames
        stall_at = script.stall_after
        keepalive = rendered.keepalive if script.keepalive else None
        i = 0
        while i < len(frames):
            if stall_at is not None and i >= stall_at:
                self._stall(keepalive, script.keepalive, chunked)
                stall_at = None
            if script.chunk_delay > 0:
                if i:
                    self._pause(script.chunk_delay)
                j = i + 1
            else:
                j = stall_at if stall_at is not None and stall_at > i else len(frames)
            self._send(b"".join(frames[i:j]), chunked, end=j == len(frames) and stall_at is None)
            i = j
        if stall_at is not None:
            # A stall at or past the last frame keeps the body open after the terminal event.
            self._stall(keepalive, script.keepalive, chunked)
        if stall_at is not None or not frames:
            self._send(b"", chunked, end=True)

    def _send(self, data: bytes, chunked: bool, end: bool = False) -> None:
        if chunked and data:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        if chunked and end:
            data += b"0\r\n\r\n"
        if data:
            self._guard(lambda: self.wfile.write(data))

    def _guard(self, write: Any) -> None:
        try:
            write()
        except OSError:
            self._gone()

    def _gone(self) -> NoReturn:
        self.server._note_disconnect()
        raise _ClientGone()

    def _stall(self, keepalive: Optional[bytes], interval: Optional[float], chunked: bool) -> None:
        generation = self.server._generation()
        next_ping = time.monotonic() + interval if keepalive and interval else None
        while self.server._stalled(generation):
            self._watch(_POLL)
            if next_ping is not None and interval and keepalive and time.monotonic() >= next_ping:
                self._send(keepalive, chunked)
                next_ping += interval
        if self.server.closing:
            raise _ClientGone()

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.server.closing:
                raise _ClientGone()
            self._watch(min(remaining, _POLL))

    def _watch(self, timeout: float) -> None:
        """Wait up to `timeout`, noticing at once if the client closes its socket."""
        try:
            readable, _, _ = select.select([self.connection], [], [], timeout)
            if not readable:
                return
            peeked = self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            self._gone()
        if not peeked:
            self._gone()
        # The client sent more bytes (a pipelined request): nothing to learn, just wait.
        time.sleep(timeout)


_shared: Optional[FakeServer] = None
_shared_lock = threading.Lock()


def shared_server() -> FakeServer:
    """The process-wide fake provider behind `Client("fake")`, started on first use and
    closed when the interpreter exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FakeServer().start()
            atexit.register(_shared.close)
        return _shared
