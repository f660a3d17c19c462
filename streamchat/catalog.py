"""`Client.models()` and `Client.count_tokens()`: one JSON request each, sent through the
very worker, transport, retries, deadlines and error mapping a stream uses. The wire layer
(`wire/catalog.py`) shapes the request and reads the answer; here it is run as a one-off
non-streamed "stream" whose decoder keeps the JSON instead of making events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Dict, Iterable, List, Optional

from .stream import start_stream
from .target import Target
from .types import ChatRequest, DoneEvent, Event, HttpRequest
from .wire import catalog
from .wire.common import Decoder, Endpoint

MAX_PAGES = 100
"""A model list longer than this many pages is cut short rather than followed forever."""


class ModelList(List[str]):
    """Model ids as `model=` takes them, in the provider's order; `.raw` holds the
    provider's own entry for each (context length, owner, capabilities...)."""

    def __init__(self, ids: Iterable[str] = (), raw: Iterable[Dict[str, Any]] = ()) -> None:
        super().__init__(ids)
        self.raw: List[Dict[str, Any]] = list(raw)

    def entry(self, model_id: str) -> Optional[Dict[str, Any]]:
        """The raw entry of one model, or None."""
        for name, entry in zip(self, self.raw):
            if name == model_id:
                return entry
        return None


class _JsonCall:
    """A wire for one JSON request: builds it with the attempt's endpoint (so a bearer
    token is fresh on every retry) and keeps the body instead of decoding events."""

    FRAMING = "sse"

    def __init__(self, build: Callable[[Endpoint], HttpRequest]) -> None:
        self._build = build
        self.payload: Any = None

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> HttpRequest:
        return self._build(endpoint)

    def new_decoder(self, provider: str, logprobs: bool = False) -> Decoder:
        raise AssertionError("a JSON call is never streamed")

    def decode_body(self, body: Any, provider: str) -> List[Event]:
        self.payload = body
        return [DoneEvent()]


def call_json(target: Target, build: Callable[[Endpoint], HttpRequest]) -> Any:
    """Send one request as `target` would be streamed, and return its JSON answer."""
    call = _JsonCall(build)
    request = target.request.model_copy(update={"stream": False})
    one = replace(target, wire=call, request=request, price=None)
    start_stream([one]).final()
    return call.payload


def list_models(target: Target, wire: str) -> ModelList:
    """Every page of the provider's model list."""
    ids: List[str] = []
    raw: List[Dict[str, Any]] = []
    page: Optional[str] = None
    for _ in range(MAX_PAGES):
        body = call_json(target, _models_page(wire, page))
        more_ids, more_raw, page = catalog.read_models(wire, body, target.provider)
        ids.extend(more_ids)
        raw.extend(more_raw)
        if page is None:
            break
    return ModelList(ids, raw)


def _models_page(wire: str, page: Optional[str]) -> Callable[[Endpoint], HttpRequest]:
    return lambda endpoint: catalog.models_request(wire, endpoint, page)


def count_tokens(target: Target, wire: str) -> int:
    """The input tokens of the target's request, by the provider's own counter."""
    assert target.endpoint is not None
    # Refused before any thread where the provider cannot count.
    catalog.count_request(wire, target.wire, target.request, target.endpoint)
    module = target.wire
    body = call_json(
        target, lambda ep: catalog.count_request(wire, module, target.request, ep))
    return catalog.read_count(wire, body, target.provider)
