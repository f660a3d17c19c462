"""Canned provider streams for tests that already mock `requests` with `responses`.

The body is rendered by the same code as the fake server's, so a stream mocked here is
byte for byte what the loopback server (and the real provider) would send. Faults that
need a live socket (stalls, keep-alives, pacing, resets, framing) are the fake server's
job and are refused here.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import TYPE_CHECKING, Any, Dict, Optional, Pattern, Tuple, Union
from urllib.parse import parse_qsl, urlsplit

from ..providers import get_preset
from .recording import Headers, RecordedRequest, parse_json
from .render import DEFAULT_MODEL, read_parts, render_error, render_request
from .script import WIRES, make_script, replied

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

_SOCKET_ONLY = ("chunk_delay", "stall_after", "keepalive", "reset", "framing")


def endpoint_url(
    wire: str, base_url: Optional[str] = None, model: str = DEFAULT_MODEL
) -> Union[str, Pattern[str]]:
    """The URL a wire format's chat requests go to (a pattern for Gemini, which names
    the model and the streaming mode in the path); by default, the base URL of the
    wire's own preset."""
    if wire not in WIRES:
        raise ValueError(f"unknown wire format {wire!r}; expected one of {WIRES}")
    base = (base_url or get_preset(wire).base_url or "").rstrip("/")
    if wire == "gemini":
        return re.compile(
            re.escape(f"{base}/models/{model}") + r":(stream)?[gG]enerateContent(\?.*)?$"
        )
    path = {"openai": "chat/completions", "openai-responses": "responses",
            "anthropic": "messages", "ollama": "api/chat"}[wire]
    return f"{base}/{path}"


def add_stream(
    rsps: Union[responses.RequestsMock, Any],
    wire: str = "openai",
    base_url: Optional[str] = None,
    model: str = DEFAULT_MODEL,
    **script: Any,
) -> responses.BaseResponse:
    """Register a canned response for the wire's chat endpoint on a `responses` mock.

    `script` takes the content and fault fields of `FakeServer.enqueue()` (text,
    thinking, tool_calls, usage, finish_reason, chunk_size, status, body, headers,
    retry_after, truncate_after, malformed_after, error_event, reply). The request decides
    between a stream and a plain JSON body, as the real API's does. Several registrations
    for one URL answer in order, the last one repeating (that is `responses`' rule).
    """
    refused = [name for name in _SOCKET_ONLY if name in script]
    if refused:
        raise ValueError(
            f"{', '.join(refused)} need a live socket: use streamchat.testing.FakeServer"
        )
    parsed_script = make_script(**script)
    url = endpoint_url(wire, base_url, model)
    counter = itertools.count(1)

    def callback(request: PreparedRequest) -> Tuple[int, Dict[str, str], bytes]:
        raw = request.body or b""
        raw = raw if isinstance(raw, bytes) else raw.encode()
        url = urlsplit(request.url or "")
        body = parse_json(raw)
        parts, problem = read_parts(wire, body)
        if problem is not None:
            rendered = render_error(wire, 400, message=problem)
        else:
            record = RecordedRequest(
                method="POST", path=url.path, query=dict(parse_qsl(url.query)),
                headers=Headers(dict(request.headers)), json=body, body=raw, wire=wire,
                parts=parts,
            )
            script = replied(parsed_script, record)
            rendered = render_request(script, wire, body, url.path, next(counter), time.time())
        return rendered.status, dict(rendered.headers), rendered.body

    result: responses.BaseResponse = rsps.add_callback(
        "POST", url, callback=callback, content_type=None
    )
    return result
