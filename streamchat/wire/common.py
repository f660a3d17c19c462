"""Small pieces every wire adapter needs: where to send, how to read a frame, how to
normalise a stop reason and a usage report. Kept here so that adapters differ only in the
parts where providers really differ."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field, replace
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import urlencode

from ..errors import ProtocolError, StreamChatError
from ..types import ChatRequest, Event, FinishReason, HttpRequest, Usage, text_event


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to send: resolved from a preset, the environment and arguments."""

    provider: str
    base_url: str
    api_key: Optional[str] = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    """Preset quirks an adapter honours, such as the name of the max-tokens field."""
    key_header: Optional[Tuple[str, str]] = None
    """Header and prefix for the key where the preset differs from its wire (Azure's
    `api-key`); None sends it where the wire does."""
    token: Optional[Callable[[], str]] = field(default=None, repr=False)
    """Gives a current bearer token (Entra ID, Google Cloud) when credentials expire;
    `with_token()` puts it in place of the key before each request."""

    def with_token(self) -> Endpoint:
        """This endpoint with a fresh bearer token as its key (itself when it has none)."""
        if self.token is None:
            return self
        return replace(self, api_key=self.token(), key_header=("Authorization", "Bearer "))


class FrameLike(Protocol):
    """What a decoder reads: a `streamchat.framing.Frame`, or anything with its two fields
    (a test's hand-made frame); the wires need not import the framing layer."""

    event: str
    data: str


class Decoder(Protocol):
    """Turns frames into events; `close()` checks that the stream really ended."""

    def feed(self, frame: FrameLike) -> List[Event]: ...

    def close(self) -> List[Event]: ...


class WireFormat(Protocol):
    """What a wire module offers: its framing, a request builder and a decoder."""

    FRAMING: str

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> HttpRequest: ...

    def new_decoder(self, provider: str, logprobs: bool = False) -> Decoder: ...

    def decode_body(self, body: Any, provider: str) -> List[Event]: ...


def text_events(value: Any) -> List[Event]:
    """A text event for a non-empty string; providers send empty and null deltas freely."""
    return [text_event({"text": value})] if isinstance(value, str) and value else []


def join_url(base_url: str, path: str, query: Optional[Mapping[str, str]] = None) -> str:
    """Join without losing a path prefix in the base (`/v1`, `/api/v1`, a proxy route) or a
    query string in it (Azure's `?api-version=`): the path's own query comes first, then
    the base URL's, then `query` (a call's own parameters)."""
    base, _, base_query = base_url.partition("?")
    path, _, path_query = path.partition("?")
    queries = [q for q in (path_query, base_query) if q]
    if query:
        queries.append(urlencode(dict(query)))
    url = base.rstrip("/") + "/" + path.lstrip("/")
    return url + "?" + "&".join(queries) if queries else url


_raw_decode = json.JSONDecoder().raw_decode


def load_json(data: str, provider: str) -> Any:
    """Parse a frame's JSON, turning garbage into a typed error that names the provider.

    A frame is almost always one bare JSON document, which `raw_decode` parses with the
    same scanner as `json.loads` but without its two regex passes for surrounding white
    space: a third of the cost of a typical chunk. Anything else (white space around the
    document, trailing bytes, garbage) goes through `json.loads`, so what is accepted and
    what is refused does not change.
    """
    try:
        value, end = _raw_decode(data)
        if end == len(data):
            return value
    except ValueError:
        pass
    try:
        return json.loads(data)
    except ValueError as exc:
        snippet = data if len(data) <= 200 else data[:200] + "..."
        raise ProtocolError(
            f"{provider} sent a frame that is not valid JSON: {snippet!r}",
            provider=provider,
        ) from exc


_SHAPE_ERRORS = (
    AttributeError, TypeError, ValueError, LookupError, ArithmeticError, RecursionError
)
"""What reading a frame of the wrong shape raises: a string where an object belongs,
a number where a list does, a value too large or too deep for Python."""

_Method = TypeVar("_Method", bound=Callable[..., List[Event]])


def typed_event(frame: FrameLike, loads: Callable[[str], Any]) -> Optional[Dict[str, Any]]:
    """A frame of a stream whose events are typed objects (Anthropic, Responses), with its
    type taken from the SSE `event:` line when the JSON leaves it out, as some proxies do;
    None for JSON that is no object, which carries no event."""
    data = loads(frame.data)
    if not isinstance(data, dict):
        return None
    data.setdefault("type", frame.event)
    return data


def _malformed(provider: str, exc: BaseException) -> ProtocolError:
    return ProtocolError(
        f"{provider} sent a frame of an unexpected shape ({type(exc).__name__}: {exc}); "
        "the server is broken or speaks another version of the API",
        provider=provider,
    )


def typed_errors(method: _Method) -> _Method:
    """Decorate a decoder's feed and close: a frame whose fields have the wrong types
    raises ProtocolError, so a decoder never lets any other exception out."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any) -> List[Event]:
        try:
            return method(self, *args)
        except StreamChatError:
            raise
        except _SHAPE_ERRORS as exc:
            raise _malformed(self._provider, exc) from exc

    return guarded  # type: ignore[return-value]


_BodyDecoder = Callable[[Any, str], List[Event]]


def typed_body_errors(function: _BodyDecoder) -> _BodyDecoder:
    """The same for `decode_body(body, provider)`."""

    @functools.wraps(function)
    def guarded(body: Any, provider: str) -> List[Event]:
        try:
            return function(body, provider)
        except StreamChatError:
            raise
        except _SHAPE_ERRORS as exc:
            raise _malformed(provider, exc) from exc

    return guarded


def not_an_object(provider: str, body: Any) -> ProtocolError:
    """The error for a whole response that is JSON but not the object the API sends: it
    was not cut short, it came from something other than the provider's API (a wrong
    base_url, a proxy's own answer)."""
    return ProtocolError(
        f"{provider} answered with a JSON {type(body).__name__} where its API sends an "
        "object; check that base_url points at the provider's API",
        provider=provider,
    )


def truncated(provider: str, what: str) -> ProtocolError:
    """The error for a stream that stopped before its terminal event."""
    return ProtocolError(
        f"{provider} stream ended before {what}: the connection was cut or the server "
        "failed mid-answer; what arrived is in .partial",
        provider=provider,
    )


def finish_reason(
    mapping: Mapping[str, FinishReason], raw: Optional[str], *, made_calls: bool = False
) -> FinishReason:
    """Map a provider's stop word to the normalised vocabulary; unknown words are "other".

    Several providers (Gemini, Ollama, the Responses API) have no word for stopping to
    let tools run and just say "stop": after tool calls (`made_calls`) that means
    "tool_calls".
    """
    normalised = "stop" if raw is None else mapping.get(raw, mapping.get(raw.lower(), "other"))
    return "tool_calls" if made_calls and normalised == "stop" else normalised


Path = Union[str, Tuple[str, ...]]


def _dig(payload: Mapping[str, Any], path: Path) -> Optional[int]:
    keys: Sequence[str] = (path,) if isinstance(path, str) else path
    value: Any = payload
    for key in keys:
        # NOTE: decoded JSON objects are always dicts; the exact check is ten times cheaper.
        if value.__class__ is not dict:
            return None
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    # NOTE: a negative count is garbage, not a refund: treat it as unreported.
    return int(value) if value >= 0 else None


def usage_from(
    payload: Any,
    *,
    input: Path,
    output: Path,
    total: Optional[Path] = None,
    cached: Iterable[Path] = (),
    cache_write: Iterable[Path] = (),
    reasoning: Iterable[Path] = (),
    extra_input: Iterable[Path] = (),
    extra_output: Iterable[Path] = (),
) -> Optional[Usage]:
    """Read a provider's usage object through the field paths it uses.

    `extra_input` counts that the provider reports beside, not inside, its input count
    (Anthropic's cache reads and writes), so that input_tokens always means the whole prompt.
    `extra_output` does the same for output (Gemini's thoughts, counted apart from the
    candidates), so that output_tokens always includes reasoning.
    """
    if not isinstance(payload, Mapping):
        return None
    input_tokens = _dig(payload, input)
    extras = [n for n in (_dig(payload, p) for p in extra_input) if n is not None]
    if extras:
        input_tokens = (input_tokens or 0) + sum(extras)
    output_tokens = _dig(payload, output)
    extra_out = [n for n in (_dig(payload, p) for p in extra_output) if n is not None]
    if extra_out:
        output_tokens = (output_tokens or 0) + sum(extra_out)
    total_tokens = _dig(payload, total) if total is not None else None
    if total_tokens is None and input_tokens is not None and output_tokens is not None:
        total_tokens = input_tokens + output_tokens
    cached_tokens = _first(payload, cached)
    write_tokens = _first(payload, cache_write)
    reasoning_tokens = _first(payload, reasoning)
    if all(
        v is None
        for v in (input_tokens, output_tokens, total_tokens, cached_tokens, reasoning_tokens)
    ):
        return None
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        cached_input_tokens=cached_tokens,
        cache_write_tokens=write_tokens,
        reasoning_tokens=reasoning_tokens,
    )


def _first(payload: Mapping[str, Any], paths: Iterable[Path]) -> Optional[int]:
    for path in paths:
        value = _dig(payload, path)
        if value is not None:
            return value
    return None


def drop_none(body: Dict[str, Any]) -> Dict[str, Any]:
    """Leave unset options out of a request body rather than sending nulls."""
    return {k: v for k, v in body.items() if v is not None}


def merge_extra(body: Dict[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """Apply `extra_body` last; an object merges into the object of the same key one level
    deep, so `{"options": {"num_ctx": 8192}}` adds to the options instead of replacing them."""
    for key, value in extra.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value
    return body


def auth_headers(
    endpoint: Endpoint,
    key_header: str = "Authorization",
    scheme: str = "Bearer ",
    accept: str = "text/event-stream",
    request: Optional[ChatRequest] = None,
) -> Dict[str, str]:
    """Base headers for a JSON streaming request, with the key where the provider wants it,
    then the preset's and the Client's headers, then the call's own."""
    headers = {"Content-Type": "application/json", "Accept": accept}
    if endpoint.key_header is not None:
        key_header, scheme = endpoint.key_header
    if endpoint.api_key:
        headers[key_header] = scheme + endpoint.api_key
    headers.update(endpoint.headers)
    if request is not None:
        headers.update(request.headers)
    return headers
