"""`Transport`: sends an HttpRequest and maps every failure to a typed error.

`requests.Session` promises no thread safety (psf/requests#2766): cookies, hooks and
adapters are mutable shared state. A Client is meant to be shared by many threads, so it
shares only what is thread-safe, urllib3's connection pool (one HTTPAdapter), and sends
prepared requests through it directly. Streams of one Client still reuse keep-alive
connections.
"""

from __future__ import annotations

import socket
import ssl
from typing import Optional
from urllib.parse import urlsplit

import requests

from ..errors import ConfigurationError, ConnectionFailedError, StreamChatError, StreamTimeoutError
from ..types import HttpRequest, RateLimit
from ..version import __version__
from ..wire.errors import error_from_response
from .body import Body
from .headers import rate_limit_in_body, retry_after_seconds
from .prepare import Preparer
from .sockets import (
    ReadTimedOut,
    SocketHolder,
    SocketWatcher,
    _socket_holder,
    _socket_watcher,
    _WatchedAdapter,
    fork_generation,
)

USER_AGENT = f"streamchat/{__version__} requests/{requests.__version__}"


class Transport:
    """Sends HttpRequests; one per Client, shared by all its streams and threads."""

    def __init__(self, *, verify: bool = True, pool_maxsize: int = 32) -> None:
        """`pool_maxsize` is how many idle connections per host are kept for reuse; more
        streams than that still run at once, their extra connections closed after use."""
        # max_retries=0: retries are streamchat's, visible as events; urllib3 must not
        # retry underneath them.
        self._adapter = _WatchedAdapter(max_retries=0, pool_maxsize=pool_maxsize)
        self._pool_maxsize = pool_maxsize
        self._fork = fork_generation()
        self.verify = verify
        self._prepare = Preparer()

    def _pool(self) -> _WatchedAdapter:
        """The connection pool, a fresh one in a forked child: a request sent on an
        inherited keep-alive connection would interleave with the parent's. The inherited
        pool is dropped, never shut down (see `fork_generation`)."""
        if self._fork != fork_generation():
            self._adapter = _WatchedAdapter(max_retries=0, pool_maxsize=self._pool_maxsize)
            self._fork = fork_generation()
        return self._adapter

    def open(
        self,
        request: HttpRequest,
        *,
        provider: str,
        connect_timeout: Optional[float],
        watcher: SocketWatcher,
        holder: Optional[SocketHolder] = None,
    ) -> Body:
        """Send the request and return its body once the status line has arrived.

        `holder` gets the socket as soon as it exists, before the request is sent.
        `watcher` gets it before the wait for the response starts; it may raise to give
        up waiting (an interrupt, a deadline). A status line or headers that stall past
        the time the watcher returns raise ReadTimedOut.
        """
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        headers.update(request.headers)
        prepared = self._prepare.request(request.method, request.url, headers, request.json)
        seen: list[socket.socket] = []

        def watch(sock: socket.socket) -> Optional[float]:
            seen.append(sock)
            return watcher(sock)

        token = _socket_watcher.set(watch)
        held = _socket_holder.set(holder)
        try:
            response = self._pool().send(
                prepared,
                stream=True,
                timeout=(connect_timeout, None),  # type: ignore[arg-type]
                verify=self.verify,
                proxies=self._prepare.proxies(request.url),
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
            raise _tls_error(exc, provider, request.url) from exc
        except (requests.exceptions.RequestException, OSError) as exc:
            raise ConnectionFailedError(
                f"could not reach {provider} at {_origin(request.url)}: {_reason(exc)}; "
                "check base_url and that the server is running",
                provider=provider,
            ) from exc
        finally:
            _socket_holder.reset(held)
            _socket_watcher.reset(token)
        try:
            return Body(response, seen[-1] if seen else None, provider)
        except StreamChatError:
            response.close()
            raise

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
        limits = body.rate_limit() or rate_limit_in_body(text)
        retry_after = retry_after_seconds(body.headers)
        if retry_after is None and status == 429 and limits is not None:
            # No Retry-After: the reset of the allowance that ran out says the same.
            retry_after = limits.wait
        # Raised as built, never held in a local: the frame would keep the error (and its
        # traceback, and the connection) alive in a reference cycle.
        raise _with_rate_limit(error_from_response(
            provider,
            status,
            text,
            endpoint=f"{request.method} {_origin(request.url)}{_path(request.url)}",
            request_id=body.request_id(),
            retry_after=retry_after,
        ), limits)

    def close(self) -> None:
        """Close the idle pooled connections now. urllib3 2 only forgets its pools here
        and closes their connections when a pool is finalized, which a finished stream's
        error (its traceback holds the response, the response its pool) can put off until
        the next garbage collection."""
        managers = [self._adapter.poolmanager, *self._adapter.proxy_manager.values()]
        for manager in managers:
            for key in list(manager.pools.keys()):
                pool = manager.pools.get(key)
                if pool is not None:
                    pool.close()
        self._adapter.close()


def _with_rate_limit(error: StreamChatError, limits: Optional[RateLimit]) -> StreamChatError:
    error.rate_limit = limits
    return error


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _tls_error(exc: BaseException, provider: str, url: str) -> ConnectionFailedError:
    """A TLS failure; one whose certificate did not verify is not retried, since the
    certificate will be the same three seconds later."""
    cause = _innermost(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        error = ConnectionFailedError(
            f"TLS with {provider} at {_origin(url)} failed: the server's certificate did "
            f"not verify ({cause.verify_message or cause}); check base_url, or give the "
            "certificate authority in REQUESTS_CA_BUNDLE",
            provider=provider,
        )
        error.retryable = False
        return error
    return ConnectionFailedError(
        f"TLS with {provider} at {_origin(url)} failed: {_reason(exc)}", provider=provider
    )


def _innermost(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or exc.__context__ is not None:
        nxt = exc.__cause__ or exc.__context__
        assert nxt is not None
        exc = nxt
    return exc


def _reason(exc: BaseException) -> str:
    """The innermost cause, which names the real problem (refused, DNS, reset)."""
    text = str(_innermost(exc))
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text
