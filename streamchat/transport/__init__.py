"""HTTP on requests: sending, reading as bytes arrive, mapping failures, and stopping a
read that is blocked in the socket. Only this package imports requests and urllib3.

`sockets` lets an interrupt reach a read blocked in the socket, `body` reads a response as
its bytes arrive, `headers` reads what the server asks of us, and `send` holds the
`Transport` that ties them together and translates failures once.
"""

from .body import MAX_ERROR_BODY, READ_SIZE, Body
from .headers import (
    REQUEST_ID_HEADERS,
    is_whole_json,
    rate_limit_of,
    request_id_of,
    retry_after_seconds,
)
from .send import USER_AGENT, Transport
from .sockets import (
    TIMEOUT_SLACK,
    DeadlineReader,
    ReadTimedOut,
    SocketWatcher,
    _WatchedAdapter,
    fork_generation,
    shutdown_socket,
    wait_readable,
)

__all__ = [
    "MAX_ERROR_BODY",
    "READ_SIZE",
    "REQUEST_ID_HEADERS",
    "TIMEOUT_SLACK",
    "USER_AGENT",
    "Body",
    "DeadlineReader",
    "ReadTimedOut",
    "SocketWatcher",
    "Transport",
    "_WatchedAdapter",
    "fork_generation",
    "is_whole_json",
    "rate_limit_of",
    "request_id_of",
    "retry_after_seconds",
    "shutdown_socket",
    "wait_readable",
]
