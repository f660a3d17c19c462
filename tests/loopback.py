"""A tiny threaded HTTP server on 127.0.0.1 whose responses each test writes by hand,
for the cases where real sockets matter: trickled bytes, stalls, disconnects."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List, Optional

Handler = Callable[["Exchange"], None]


OK_END = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
"""The end of an OpenAI Chat stream: a stop chunk, then [DONE]."""


def chunk(text: str) -> bytes:
    """One OpenAI Chat SSE event carrying `text` as a content delta."""
    return b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()


class Exchange:
    """One request as the handler sees it, with helpers to answer in any framing."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: Loopback) -> None:
        self.handler = handler
        self.server = server
        length = int(handler.headers.get("Content-Length") or 0)
        self.body = handler.rfile.read(length) if length else b""
        self.path = handler.path
        self.headers = dict(handler.headers)

    def start(self, status: int = 200, headers: Optional[dict] = None, framing: str = "chunked",
              length: Optional[int] = None) -> None:
        self.framing = framing
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "text/event-stream")
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        if framing == "chunked":
            self.handler.send_header("Transfer-Encoding", "chunked")
        elif framing == "length":
            self.handler.send_header("Content-Length", str(length))
        else:
            self.handler.send_header("Connection", "close")
            self.handler.close_connection = True
        self.handler.end_headers()
        self.handler.wfile.flush()

    def write(self, data: bytes) -> None:
        if self.framing == "chunked":
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def end(self, last: bytes = b"") -> None:
        """End the body, sending `last` first in the same write: a client that keeps the
        connection waits a moment for the end after the last event, and a separate write
        can be held back longer than that by Nagle's algorithm on a busy machine."""
        if last and self.framing != "chunked":
            self.write(last)
        elif self.framing == "chunked":
            head = b"%x\r\n%s\r\n" % (len(last), last) if last else b""
            self.handler.wfile.write(head + b"0\r\n\r\n")
            self.handler.wfile.flush()

    def reply(self, status: int, body: bytes, headers: Optional[dict] = None) -> None:
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.write(body)
        self.handler.wfile.flush()

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """Block until the client closes its end (a read returns EOF or fails)."""
        sock = self.handler.connection
        sock.settimeout(timeout)
        try:
            while True:
                if not sock.recv(1024):
                    return True
        except (socket.timeout, OSError):
            return isinstance(sys_exc(), OSError) and not isinstance(sys_exc(), socket.timeout)


def sys_exc() -> Optional[BaseException]:
    import sys

    return sys.exc_info()[1]


class Loopback:
    """Serve `handlers` in order, one per request; use as a context manager."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers: List[Handler] = list(handlers)
        self.requests: List[Exchange] = []
        self.release = threading.Event()
        self.disconnected = threading.Event()
        loopback = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                exchange = Exchange(self, loopback)
                loopback.requests.append(exchange)
                handler = loopback.handlers.pop(0) if loopback.handlers else None
                if handler is None:
                    exchange.reply(500, b'{"error": {"message": "no handler left"}}')
                    return
                try:
                    handler(exchange)
                except (BrokenPipeError, ConnectionResetError):
                    loopback.disconnected.set()

            do_GET = do_POST  # model lists

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(2)
