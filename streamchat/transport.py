"""HTTP on requests: sending, reading as bytes arrive, mapping failures, and stopping a
read that is blocked in the socket.

Only this module imports requests and urllib3. Two traps shape it:

* Closing a requests Response from another thread does not wake a read already blocked in
  the socket (psf/requests#5372, urllib3#2868). So every connection reports its socket to
  the stream that uses it, through a context variable read in `getresponse()`, and
  `abort()` shuts that socket down, which wakes the reader at once and tells the server
  to stop generating.
* `requests.Session` promises no thread safety (psf/requests#2766): cookies, hooks and
  adapters are mutable shared state. A Client is meant to be shared by many threads, so
  it shares only what is thread-safe, urllib3's connection pool (one HTTPAdapter), and
  sends prepared requests through it directly. Streams of one Client still reuse
  keep-alive connections.
"""

from __future__ import annotations

import contextvars
import email.utils
import http.client
import io
import select
import socket
import time
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import __version__
from .errors import (
    ConfigurationError,
    ConnectionFailedError,
    StreamChatError,
    StreamTimeoutError,
)
from .types import HttpRequest
from .wire.errors import error_from_response

READ_SIZE = 16 * 1024
"""Bytes asked of the socket per read; read1 returns what has arrived, up to this. Reads
stay well under glibc's threshold for giving memory back (128 KiB): with a hundred
streams, 64 KiB reads left tens of megabytes stranded in fragmented heaps."""
TIMEOUT_SLACK = 0.05
"""Seconds a read may outlast the deadline it was given, so that the socket's timeout is
not reset on every read."""
MAX_ERROR_BODY = 1024 * 1024
USER_AGENT = f"streamchat/{__version__} requests/{requests.__version__}"
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")

SocketWatcher = Callable[[socket.socket], Optional[float]]
"""Gets the socket before the wait for the answer; returns how long the status line and
headers may then take (None: no limit), or raises to give up."""
_socket_watcher: contextvars.ContextVar[Optional[SocketWatcher]] = contextvars.ContextVar(
    "streamchat_socket_watcher", default=None
)


class ReadTimedOut(Exception):
    """The socket stayed silent past the deadline the reader was given."""


class _WatchedResponseMixin:
    """Hands the socket to the current stream before waiting for the status line.

    getresponse() is where a request waits for the server, for a pooled connection as
    much as for a new one, so it is the one place that sees every socket in time.
    """

    sock: Optional[socket.socket]
    timeout: Optional[float]

    def getresponse(self) -> Any:
        watcher = _socket_watcher.get()
        if watcher is not None and self.sock is not None:
            left = watcher(self.sock)
            if left is not None:
                # A server that sends the first byte and then stalls in the headers must
                # still meet the deadline; urllib3 applies this to the socket next.
                self.timeout = max(left, 0.001)
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedResponseMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedResponseMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        return manager


def shutdown_socket(sock: Optional[socket.socket]) -> None:
    """Wake any thread blocked on `sock` and end the connection, from any thread.

    The base-class call skips SSLSocket.shutdown, which would tear down TLS state that
    the reading thread is still using; shutting the descriptor is enough to wake it.
    """
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def wait_readable(sock: socket.socket, timeout: Optional[float]) -> bool:
    """True when the socket has data or was shut down; False after `timeout` seconds."""
    try:
        ready, _, _ = select.select([sock], [], [], timeout)
    except (OSError, ValueError):
        return True  # closed under us: let the read report it
    return bool(ready)


def retry_after_seconds(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """The server's requested wait: retry-after-ms, Retry-After seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Body:
    """A response body being streamed: read chunks as they arrive, or stop it."""

    def __init__(self, response: requests.Response, sock: Optional[socket.socket]) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self._raw: urllib3.HTTPResponse = response.raw
        self._sock = sock
        self._timeout: Optional[float] = -1.0
        self._poll: Optional[select.poll] = None
        self._read_more: Callable[[int], bytes] = self._raw.read1
        self._original: Optional[http.client.HTTPResponse] = None
        if sock is not None and self._raw.chunked and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock, select.POLLIN)
        original = self._raw._original_response
        identity = not self.headers.get("content-encoding")
        if self._poll is not None and original is not None and identity:
            # Chunks already in hand are read from http.client directly: urllib3's read1
            # adds about 2 us of bookkeeping per chunk, more than the event's own parsing,
            # and has nothing to decode in an identity body.
            self._read_more = original.read1
            if isinstance(original.fp, io.BufferedReader):
                self._original = original

    def _set_timeout(self, timeout: Optional[float]) -> None:
        current = self._timeout
        if self._sock is None or current == timeout:
            return
        if timeout is not None and current is not None and 0 <= current - timeout <= TIMEOUT_SLACK:
            # The deadline moves on every read; a system call to follow it each time
            # would cost more than parsing what was read, and would hand the GIL away.
            return
        if timeout is not None:
            timeout += TIMEOUT_SLACK / 2  # room for the next reads' deadlines to move
        try:
            self._sock.settimeout(timeout)
        except OSError:
            pass
        self._timeout = timeout

    def read(self, timeout: Optional[float] = None) -> bytes:
        """The next bytes that arrived (b"" at the end of the body).

        read1 returns as soon as anything arrived, whether the body is chunked, has a
        Content-Length or ends with the connection; `iter_content` would wait for a whole
        buffer or read byte by byte.
        """
        self._set_timeout(timeout)
        try:
            data = self._raw.read1(READ_SIZE)
            if data and self._poll is not None:
                data = self._gather(data, self._poll)
            return data
        except (urllib3.exceptions.ReadTimeoutError, socket.timeout) as exc:
            raise ReadTimedOut() from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise ConnectionFailedError(
                f"the connection broke while reading the answer: {exc}"
            ) from exc

    def _gather(self, data: bytes, poll: select.poll) -> bytes:
        """Add the HTTP chunks that have already arrived to the one read1 returned.

        read1 stops at the end of each chunk and servers flush one chunk per event, so
        without this a fast stream costs a read, a batch on the queue and a thread switch
        per event. A chunk is taken when it is whole in http.client's buffer (seen with
        one peek per buffer, no system call), or else when the kernel holds more (a poll,
        after which the read waits at most for the rest of a chunk the server is in the
        middle of sending). System calls stay off the per-chunk path because each one
        hands the GIL to another thread: with hundreds of streams that costs more than
        the parsing.
        """
        parts = [data]
        size = len(data)
        original = self._original
        window, offset = b"", 0  # http.client's buffer as last peeked, and how far it is read
        try:
            while size < READ_SIZE:
                header = (
                    None if original is None
                    else _chunk_header(window, offset, original.chunk_left)
                )
                if header is None:
                    if not poll.poll(0):
                        break
                    if original is not None and original.fp is not None:
                        window, offset = original.fp.peek(), 0  # cannot block: data waits
                        header = _chunk_header(window, 0, original.chunk_left)
                more = self._read_more(READ_SIZE - size)
                if not more:
                    break
                parts.append(more)
                size += len(more)
                if header is None:
                    window, offset = b"", 0  # read past what was peeked
                else:
                    offset += header + len(more)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError):
            pass  # what arrived is delivered first; the next read meets the failure
        return b"".join(parts) if len(parts) > 1 else data

    def read_all(self, timeout: Optional[float], limit: int = MAX_ERROR_BODY) -> bytes:
        """The rest of the body, up to `limit` bytes (for error and non-streamed bodies).

        `timeout` bounds the whole read, not each piece: a server trickling a byte at a
        time would otherwise hold the stream far past its deadline.
        """
        parts = []
        size = 0
        end = None if timeout is None else time.monotonic() + timeout
        while size < limit:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise ReadTimedOut()
            data = self.read(left)
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    def request_id(self) -> Optional[str]:
        for name in REQUEST_ID_HEADERS:
            value = self.headers.get(name)
            if value:
                return str(value)
        return None

    def finish(self, drain_timeout: float = 0.05) -> None:
        """After the terminal event: keep the connection if the body ends at once.

        Servers do not all end the body at `[DONE]` or `message_stop`; waiting briefly for
        the end keeps keep-alive reuse in the usual case, and a server that holds the body
        open costs one dropped connection instead of a hung stream.
        """
        try:
            self.read_all(drain_timeout)
        except (ReadTimedOut, StreamChatError):
            self.abort()
        self.close()

    def abort(self) -> None:
        """Stop the read in progress, from any thread, and drop the connection."""
        shutdown_socket(self._sock)

    def close(self) -> None:
        try:
            self.response.close()
        except Exception:
            pass


def _chunk_header(window: bytes, offset: int, chunk_left: Optional[int]) -> Optional[int]:
    """How many bytes of chunk framing http.client reads before the next data, when that
    framing and some data are all in `window[offset:]`; None when they are not there, or
    for the last chunk, whose trailer is left to urllib3 so that it releases the
    connection."""
    if offset >= len(window):
        return None
    if chunk_left:
        return 0
    # At the end of a chunk its closing CRLF comes first, then the next size line.
    start = offset if chunk_left is None else offset + 2
    end = window.find(b"\n", start)
    if end == -1 or end + 1 >= len(window):
        return None
    try:
        if int(window[start:end].split(b";", 1)[0], 16) == 0:
            return None
    except ValueError:
        return None
    return end + 1 - offset


class Transport:
    """Sends HttpRequests; one per Client, shared by all its streams and threads."""

    def __init__(self, *, verify: bool = True, pool_maxsize: int = 32) -> None:
        """`pool_maxsize` is how many idle connections per host are kept for reuse; more
        streams than that still run at once, their extra connections closed after use."""
        # max_retries=0: retries are streamchat's, visible as events; urllib3 must not
        # retry underneath them.
        self._adapter = _WatchedAdapter(max_retries=0, pool_maxsize=pool_maxsize)
        self.verify = verify

    def open(
        self,
        request: HttpRequest,
        *,
        provider: str,
        connect_timeout: Optional[float],
        watcher: SocketWatcher,
    ) -> Body:
        """Send the request and return its body once the status line has arrived.

        `watcher` gets the socket before the wait for the response starts; it may raise
        to give up waiting (an interrupt, a deadline). A status line or headers that
        stall past the time the watcher returns raise ReadTimedOut.
        """
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        headers.update(request.headers)
        prepared = requests.Request(
            request.method, request.url, headers=headers, json=request.json
        ).prepare()
        seen: list[socket.socket] = []

        def watch(sock: socket.socket) -> Optional[float]:
            seen.append(sock)
            return watcher(sock)

        token = _socket_watcher.set(watch)
        try:
            response = self._adapter.send(
                prepared,
                stream=True,
                timeout=(connect_timeout, None),  # type: ignore[arg-type]
                verify=self.verify,
                proxies=get_environ_proxies(request.url),
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise StreamTimeoutError(
                f"could not connect to {provider} at {_origin(request.url)} within "
                f"{connect_timeout} s; check the network or raise Timeouts(connect=...)",
                phase="connect",
                provider=provider,
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ReadTimedOut() from exc
        except requests.exceptions.SSLError as exc:
            raise ConnectionFailedError(
                f"TLS with {provider} at {_origin(request.url)} failed: {exc}",
                provider=provider,
            ) from exc
        except (requests.exceptions.RequestException, OSError) as exc:
            raise ConnectionFailedError(
                f"could not reach {provider} at {_origin(request.url)}: {_reason(exc)}; "
                "check base_url and that the server is running",
                provider=provider,
            ) from exc
        finally:
            _socket_watcher.reset(token)
        return Body(response, seen[-1] if seen else None)

    def raise_for_status(
        self, body: Body, request: HttpRequest, provider: str, timeout: Optional[float]
    ) -> None:
        """Turn a non-2xx answer into the matching typed exception."""
        status = body.status_code
        if status < 300:
            return
        if status < 400:
            location = body.headers.get("location", "?")
            body.close()
            raise ConfigurationError(
                f"{provider} answered {status} redirecting to {location}; streamchat does not "
                "follow redirects, since one could carry the API key to another host: set "
                "base_url to the final address",
                provider=provider,
                status_code=status,
            )
        try:
            raw = body.read_all(timeout)
        except (ReadTimedOut, StreamChatError):
            raw = b""
        body.close()
        text = raw.decode("utf-8", "replace")
        raise error_from_response(
            provider,
            status,
            text,
            endpoint=f"{request.method} {_origin(request.url)}{_path(request.url)}",
            request_id=body.request_id(),
            retry_after=retry_after_seconds(body.headers),
        )

    def close(self) -> None:
        self._adapter.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _reason(exc: BaseException) -> str:
    """The innermost cause, which names the real problem (refused, DNS, reset)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        nxt = exc.__cause__ or exc.__context__
        assert nxt is not None
        exc = nxt
    text = str(exc)
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text


