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
import os
import selectors
import socket
from typing import Any, Callable, Optional

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

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
