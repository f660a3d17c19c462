"""Sockets the worker can reach: every connection hands its socket to the stream that
uses it, so an interrupt can shut it down, and a wait for the server can be ended by an
interrupt or a deadline.

Closing a requests Response from another thread does not wake a read already blocked in
the socket (psf/requests#5372, urllib3#2868). So every connection reports its socket to
the stream that uses it, through a context variable read in `getresponse()`, and
`shutdown_socket()` shuts it down, which wakes the reader at once and tells the server to
stop generating.
"""

from __future__ import annotations

import contextvars
import http.client
import io
import os
import selectors
import socket
import time
from typing import Any, Callable, Optional, Tuple, Type

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SocketWatcher = Callable[[socket.socket], Optional[float]]
"""Gets the socket before the wait for the answer; returns how long the status line and
headers may then take (None: no limit), or raises to give up."""
_socket_watcher: contextvars.ContextVar[Optional[SocketWatcher]] = contextvars.ContextVar(
    "streamchat_socket_watcher", default=None
)


SocketHolder = Callable[[socket.socket], None]
"""Gets the socket as soon as it exists, before the request is sent: a stop while a large
request is still being sent (a slow server, a big document) must be able to shut it."""
_socket_holder: contextvars.ContextVar[Optional[SocketHolder]] = contextvars.ContextVar(
    "streamchat_socket_holder", default=None
)


_header_deadline: contextvars.ContextVar[Optional[Tuple[Optional[float]]]] = (
    contextvars.ContextVar("streamchat_header_deadline", default=None)
)
"""Inside a watched getresponse(): the deadline for the status line and headers (in a
tuple, since None means no deadline). Outside (a proxy's CONNECT answer), None."""

TIMEOUT_SLACK = 0.05
"""Seconds a read may outlast its deadline, so that the socket's timeout is not reset on
every read (each reset is a system call that hands the GIL to another thread)."""


class ReadTimedOut(Exception):
    """The socket stayed silent past the deadline the reader was given."""


class DeadlineReader(io.RawIOBase):
    """What http.client reads a response through: every read from the socket is held to
    one moment, `deadline` (time.monotonic(); None: no limit).

    A socket timeout bounds each read from the socket, not a line made of many: a server
    that sends the status line, a header or a chunk-size line a byte at a time would keep
    http.client's readline going for as long as it likes, past every deadline. Here each
    read gets what is left until the deadline (plus at most TIMEOUT_SLACK), and none
    starts after it.
    """

    def __init__(self, raw: io.RawIOBase, sock: socket.socket) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self.deadline: Optional[float] = None
        self.hold = False
        """While set, reads take nothing from the socket: a peek then shows only what is
        already buffered, and cannot block."""
        self._limited = False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def readinto(self, buffer: Any) -> Optional[int]:
        if self.hold:
            return None  # what a non-blocking read returns when nothing has arrived
        end = self.deadline
        if end is None:
            if self._limited:  # a timeout of ours would end a read that has no deadline
                self._sock.settimeout(None)
                self._limited = False
            return self._raw.readinto(buffer)
        left = end - time.monotonic()
        if left <= 0:
            raise socket.timeout("the deadline passed")
        current = self._sock.gettimeout()  # the value Python keeps: no system call
        if current is None or not left <= current <= left + TIMEOUT_SLACK:
            # Room for the deadline to come nearer over the next reads without a reset.
            self._sock.settimeout(left + TIMEOUT_SLACK / 2)
        self._limited = True  # whoever set it, the timeout now serves this deadline
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """An http.client response read through a DeadlineReader, which starts with the
    deadline for the status line and headers."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        buffered = self.fp
        deadline = _header_deadline.get()
        if deadline is not None and isinstance(buffered, io.BufferedReader):
            reader = DeadlineReader(buffered.detach(), sock)
            reader.deadline = deadline[0]
            self.fp = io.BufferedReader(reader)


class _WatchedResponseMixin:
    """Hands the socket to the current stream before waiting for the status line.

    getresponse() is where a request waits for the server, for a pooled connection as
    much as for a new one, so it is the one place that sees every socket in time.
    """

    sock: Optional[socket.socket]
    timeout: Optional[float]
    response_class: Type[http.client.HTTPResponse] = _DeadlineResponse

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _hand_over(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a pooled connection, which connect() will not see
            _hand_over(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        watcher = _socket_watcher.get()
        deadline = None
        if watcher is not None and self.sock is not None:
            left = watcher(self.sock)
            if left is not None:
                # A server that sends the first byte and then stalls in the headers must
                # still meet the deadline; urllib3 applies this to the socket next, and
                # the response's reader holds the whole status line and headers to it.
                self.timeout = max(left, 0.001)
                deadline = time.monotonic() + left
        token = _header_deadline.set((deadline,))
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            _header_deadline.reset(token)


def _hand_over(sock: Optional[socket.socket]) -> None:
    holder = _socket_holder.get()
    if holder is not None and sock is not None:
        holder(sock)


class _WatchedHTTPConnection(_WatchedResponseMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedResponseMixin, HTTPSConnection):
    pass


class _GrowingPoolMixin:
    """A pool that grows to the number of streams running at once, so that every
    connection handed back is kept for the next stream.

    urllib3's pool has a fixed number of slots: a stream above that number opens an extra
    connection, which finds no slot when handed back and is closed with a warning
    ("Connection pool is full, discarding connection"), once per extra stream, and the
    next burst connects anew. Here a stream that finds every slot taken adds one for the
    connection it is about to open, so the slots cover the connections in the pool and
    those in use. Should a connection still find no slot (a pool closed meanwhile), it is
    closed without the warning, whose logging record costs more than a stream's own end.
    """

    pool: Any

    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        pool = self.pool
        if pool is not None:
            with pool.mutex:
                if not pool.queue:
                    pool.maxsize += 1
        return super()._get_conn(timeout)  # type: ignore[misc]

    def _put_conn(self, conn: Any) -> None:
        pool = self.pool
        if conn is not None and pool is not None and pool.full():
            conn.close()
            return
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPPool(_GrowingPoolMixin, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_GrowingPoolMixin, HTTPSConnectionPool):
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
    """True when the socket has data or was shut down; False after `timeout` seconds.

    A selector, not select(): select() cannot watch a descriptor numbered 1024 or more,
    which any busy process hands out.
    """
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(timeout))
    except (OSError, ValueError):
        return True  # closed under us: let the read report it


_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def fork_generation() -> int:
    """How many forks separate this process from the one that started the count.

    A forked child inherits the parent's sockets; shutting one down (an abort, a Stream
    collected at the child's exit) would end the parent's connection too. Whoever holds
    a socket notes the generation and leaves the socket alone once it has changed.
    """
    return _forks
