"""A loopback HTTP/1.1 server that costs next to nothing per event, run in its own process
so that it neither shares the client's GIL nor shows up in the client's RSS, descriptors
or thread count.

Bodies are rendered once per (wire, n, framing) and written with one `sendall`; chunked
bodies keep one HTTP chunk per event, as providers' servers flush them. The path says
what to answer, the rest of it (the provider's own route) is ignored:

    /bulk/<wire>/<n>/<framing>/...       the whole body at once
    /pace/<wire>/<n>/<framing>/<ms>/...  one event every <ms> ms; the text of each event
                                         is the server's time.monotonic() when it was sent
    /silent/<wire>/<n>/chunked/<token>/...  one event, then silence until the client
                                         hangs up; the time it did is kept under <token>
    GET /closed/<token>                  that time as JSON (waits up to 3 s for it)

<framing> is `chunked` (a chunk per event), `packed` (chunked, in 64 KiB chunks that cut
events anywhere, as a buffering proxy writes them), `length` (Content-Length) or `close`
(ends with the connection).
Run it as `python -m benchmarks.server`: it prints its port and serves until stdin closes.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

try:
    from . import bodies
except ImportError:  # run as a script
    import bodies  # type: ignore[no-redef]

SILENCE_LIMIT = 10.0
"""A silent stream is dropped by the server after this long, whatever the client does."""

PACKED = 64 * 1024
"""Bytes per chunk of a `packed` body."""

_cache: Dict[Tuple[str, int, str], Tuple[bytes, bytes]] = {}
_cache_lock = threading.Lock()
_closed: Dict[str, float] = {}
_closed_cond = threading.Condition()


def _head(wire: str, framing: str, length: Optional[int] = None) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Type: {bodies.RENDERERS[wire].content_type}",
             "Cache-Control: no-cache"]
    if framing in ("chunked", "packed"):
        lines.append("Transfer-Encoding: chunked")
    elif framing == "length":
        lines.append(f"Content-Length: {length}")
    else:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


def rendered(wire: str, n: int, framing: str) -> Tuple[bytes, bytes]:
    """(head, body) ready to send, rendered on first use."""
    key = (wire, n, framing)
    with _cache_lock:
        if key not in _cache:
            pieces = bodies.frames(wire, n)
            if framing == "chunked":
                body = b"".join(_chunk(p) for p in pieces) + b"0\r\n\r\n"
                head = _head(wire, framing)
            elif framing == "packed":
                whole = b"".join(pieces)
                body = b"".join(_chunk(whole[i:i + PACKED]) for i in range(0, len(whole), PACKED))
                body += b"0\r\n\r\n"
                head = _head(wire, framing)
            else:
                body = b"".join(pieces)
                head = _head(wire, framing, len(body))
            _cache[key] = (head, body)
        return _cache[key]


def _read_request(reader) -> Optional[Tuple[str, str]]:  # type: ignore[no-untyped-def]
    line = reader.readline(65536)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    length = 0
    while True:
        header = reader.readline(65536)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        reader.read(length)
    return method, path


def _pace(sock: socket.socket, wire: str, n: int, framing: str, interval: float) -> None:
    """Events whose text is the moment each was handed to the kernel."""
    render = bodies.RENDERERS[wire]
    stamp = f"{0.0:018.6f}"
    head, tail = render.head(n), render.tail(n)
    template = render.text(0, "@" + stamp)
    length = sum(map(len, head)) + n * len(template) + sum(map(len, tail))
    wrap = _chunk if framing == "chunked" else bytes
    sock.sendall(_head(wire, framing, length) + b"".join(wrap(p) for p in head))
    start = time.monotonic()
    for i in range(n):
        wait = start + i * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        now = time.monotonic()
        sock.sendall(wrap(template.replace(stamp.encode(), b"%018.6f" % now)))
    end = b"".join(wrap(p) for p in tail)
    sock.sendall(end + b"0\r\n\r\n" if framing == "chunked" else end)


def _silent(sock: socket.socket, wire: str, token: str) -> None:
    render = bodies.RENDERERS[wire]
    pieces = [*render.head(1), render.text(0, "hello")]
    sock.sendall(_head(wire, "chunked") + b"".join(_chunk(p) for p in pieces))
    sock.settimeout(SILENCE_LIMIT)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    seen = time.monotonic()
    with _closed_cond:
        _closed[token] = seen
        _closed_cond.notify_all()


def _closed_time(token: str) -> bytes:
    deadline = time.monotonic() + 3.0
    with _closed_cond:
        while token not in _closed and time.monotonic() < deadline:
            _closed_cond.wait(deadline - time.monotonic())
        value = _closed.pop(token, None)
    body = json.dumps({"t": value}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)


def _serve(sock: socket.socket) -> None:
    reader = sock.makefile("rb")
    try:
        while True:
            request = _read_request(reader)
            if request is None:
                return
            parts = request[1].split("?", 1)[0].split("/")
            kind = parts[1] if len(parts) > 1 else ""
            if kind == "closed":
                sock.sendall(_closed_time(parts[2]))
                continue
            if kind not in ("bulk", "pace", "silent") or len(parts) < 6:
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            wire, n, framing = parts[2], int(parts[3]), parts[4]
            if kind == "bulk":
                head, body = rendered(wire, n, framing)
                sock.sendall(head + body)
            elif kind == "pace":
                _pace(sock, wire, n, framing, float(parts[5]) / 1000)
            else:
                _silent(sock, wire, parts[5])
                return
            if framing == "close":
                return
    except (OSError, ValueError):
        return
    finally:
        reader.close()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def serve_forever(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


def main(argv: Optional[List[str]] = None) -> None:
    threading.stack_size(256 * 1024)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    print(listener.getsockname()[1], flush=True)
    threading.Thread(target=serve_forever, args=(listener,), daemon=True).start()
    # The parent holds our stdin: when it goes away, so do we.
    sys.stdin.read()
    listener.close()


if __name__ == "__main__":
    main()
