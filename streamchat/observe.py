"""What a stream tells the world about itself: log lines, the caller's hooks, and (when
OpenTelemetry is installed) a span and metrics.

The worker and the stream call in here at a handful of moments (an attempt starts, an
attempt ends, a retry, a fallback, the stream ends) and never per event, so a stream that
nobody watches pays a few attribute reads per attempt. Everything goes through the
`streamchat` logger, which has a NullHandler: an application sees these lines only when
it configures logging, or sets STREAMCHAT_LOG=debug|info|warning for a quick look on
stderr. Hooks run in whichever thread reached the moment (on_request in the stream's
worker thread, on_response in the consumer's) and an exception in one is logged, never
raised into the stream.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import StreamChatError
from .redaction import secrets_of
from .transport.headers import rate_limit_of, request_id_of
from .types import (
    ChatResponse,
    DoneEvent,
    Event,
    FallbackEvent,
    HttpRequest,
    RateLimit,
    RetryEvent,
    Usage,
    UsageEvent,
)

if TYPE_CHECKING:
    from .otel import StreamTrace
    from .target import Target

logger = logging.getLogger("streamchat")

MASK = "[redacted]"
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key",
                                 "proxy-authorization", "cookie"})
_SECRET_QUERY = frozenset({"key", "api_key", "api-key", "apikey", "token", "access_token",
                           "sig", "signature", "code"})


@dataclass(frozen=True)
class RequestInfo:
    """One attempt about to be sent, as `on_request` sees it: credentials masked."""

    provider: str
    model: str
    attempt: int
    """1 for the first attempt at this provider, 2 for its first retry, and so on."""
    method: str
    url: str
    """The URL with credential-like query parameters masked."""
    headers: Mapping[str, str] = field(repr=False)
    """The request's headers, the credential ones masked."""
    body: Any = field(repr=False)
    """The JSON body as it will be sent."""


OnRequest = Callable[[RequestInfo], None]
"""Called before each attempt is sent, in the stream's worker thread."""
OnResponse = Callable[[ChatResponse, Optional[StreamChatError]], None]
"""Called once when a stream ends, however it ends, with what arrived and the error that
ended it (None for a normal end or an interrupt)."""


def safe_url(url: str, secrets: Sequence[str] = ()) -> str:
    """The URL as it may be logged: credential-like query values and known keys masked."""
    parts = urlsplit(url)
    if parts.query:
        query = [(k, MASK if k.lower() in _SECRET_QUERY else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        url = urlunsplit(parts._replace(query=urlencode(query, safe="[]")))
    for secret in secrets:
        url = url.replace(secret, MASK)
    return url


def safe_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {k: (MASK if k.lower() in _CREDENTIAL_HEADERS else v) for k, v in headers.items()}


@dataclass(frozen=True)
class Observing:
    """A Client's settings for watching its streams: its hooks, and whether and where to
    trace (tracing None: a span per stream when OpenTelemetry is installed; False: never;
    the providers: OpenTelemetry's global ones when None)."""

    on_request: Optional[OnRequest] = None
    on_response: Optional[OnResponse] = None
    tracing: Optional[bool] = None
    tracer_provider: Any = None
    meter_provider: Any = None

    def start(
        self,
        targets: Sequence[Target],
        on_request: Optional[OnRequest] = None,
        on_response: Optional[OnResponse] = None,
    ) -> Observer:
        """The Observer of one stream; a call's own hooks replace the Client's."""
        return Observer(
            targets,
            secrets=secrets_of(targets),
            on_request=on_request or self.on_request,
            on_response=on_response or self.on_response,
            tracing=self.tracing,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
        )


class Attempt:
    """What one attempt learned, written by the worker thread as it goes."""

    __slots__ = ("ended", "finish_reason", "first_content", "model", "number", "provider",
                 "rate_limit", "request_id", "started", "status", "streamed", "url", "usage")

    def __init__(
        self, provider: str, model: str, number: int, url: str, streamed: bool = True
    ) -> None:
        self.provider = provider
        self.streamed = streamed
        self.model = model
        self.number = number
        self.url = url
        self.started = time.monotonic()
        self.status: Optional[int] = None
        self.request_id: Optional[str] = None
        self.rate_limit: Optional[RateLimit] = None
        self.first_content: Optional[float] = None
        """Monotonic time of the first content event, for time to first token."""
        self.usage: Optional[Usage] = None
        self.finish_reason: Optional[str] = None
        self.ended = number == 0
        """Reported already (a placeholder before the first attempt counts as reported)."""

    def responded(self, status: int, headers: Mapping[str, str]) -> None:
        """The status line and headers arrived."""
        self.status = status
        self.request_id = request_id_of(headers)
        self.rate_limit = rate_limit_of(headers)

    def content_at(self, now: float) -> float:
        """Content arrived at monotonic time `now` (kept if it is the first); returns it."""
        if self.first_content is None:
            self.first_content = now
        return now

    def note(self, event: Event) -> None:
        """Keep what a usage or done event says (never called for content deltas)."""
        if isinstance(event, (UsageEvent, DoneEvent)) and event.usage is not None:
            self.usage = event.usage if self.usage is None else self.usage.merged(event.usage)
        if isinstance(event, DoneEvent):
            self.finish_reason = event.finish_reason

    @property
    def first_token_seconds(self) -> Optional[float]:
        return None if self.first_content is None else self.first_content - self.started


class Observer:
    """One stream's logging, hooks and trace. Created in the caller's thread, so that a
    span starts as a child of the caller's current span."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        secrets: Sequence[str] = (),
        on_request: Optional[OnRequest] = None,
        on_response: Optional[OnResponse] = None,
        tracing: Optional[bool] = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        first = targets[0]
        self.provider = first.provider
        self.model = first.model
        self._secrets = list(secrets)
        self._on_request = on_request
        self._on_response = on_response
        self._started = time.monotonic()
        self._ended = False
        self._last: Optional[Attempt] = None
        self.trace: Optional[StreamTrace] = None
        # NOTE: with tracing left to None, only an application that has imported
        # OpenTelemetry gets spans: one that merely has it installed never pays its import.
        in_use = "opentelemetry.trace" in sys.modules or tracer_provider or meter_provider
        otel = _otel() if tracing or (tracing is None and in_use) else None
        if tracing and otel is None:
            from .errors import ConfigurationError

            raise ConfigurationError(
                "tracing=True needs OpenTelemetry: pip install 'streamchat[otel]'"
            )
        if otel is not None:
            self.trace = otel.StreamTrace(first, tracer_provider, meter_provider)

    # -- the worker thread ----------------------------------------------------------

    def worker_started(self) -> object:
        """Make the stream's span current in the worker thread (for HTTP instrumentation
        underneath); returns what `worker_finished` needs to undo it."""
        return self.trace.enter() if self.trace is not None else None

    def worker_finished(self, token: object) -> None:
        if self.trace is not None:
            self.trace.leave(token)

    def attempt_started(self, target: Target, http: HttpRequest, number: int) -> Attempt:
        url = safe_url(http.url, self._secrets)
        attempt = Attempt(target.provider, target.model, number, url, target.request.stream)
        self._last = attempt
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s attempt %d: %s %s headers=%s body=%s", target.provider,
                         target.model, number, http.method, url,
                         json.dumps(dict(safe_headers(http.headers))),
                         self._masked(json.dumps(http.json, ensure_ascii=False, default=str)))
        if self._on_request is not None:
            info = RequestInfo(target.provider, target.model, number, http.method, url,
                               safe_headers(http.headers), http.json)
            _call(self._on_request, "on_request", info)
        return attempt

    def attempt_ended(self, attempt: Attempt, error: Optional[BaseException]) -> None:
        """One INFO line per attempt, however it ended (an interrupt: `error` is the
        marker the stream's end passes)."""
        if attempt.ended:
            return
        attempt.ended = True
        if error is None and attempt.first_content is None and attempt.streamed:
            # The whole answer came in the read that ended it.
            attempt.first_content = time.monotonic()
        if isinstance(error, StreamChatError):
            attempt.status = attempt.status or error.status_code
            attempt.request_id = attempt.request_id or error.request_id
        if self.trace is not None:
            self.trace.attempt_ended(attempt, error)
        if not logger.isEnabledFor(logging.INFO):
            return
        usage = attempt.usage
        if error is None:
            outcome = attempt.finish_reason
        elif isinstance(error, StreamChatError):
            outcome = type(error).__name__
        else:
            outcome = "interrupted"
        logger.info(
            "%s %s %s -> %s request_id=%s attempt=%d ttft=%s duration=%.3fs "
            "input_tokens=%s output_tokens=%s finish=%s",
            attempt.provider, attempt.model, attempt.url,
            attempt.status if attempt.status is not None else "no response",
            attempt.request_id, attempt.number, _seconds(attempt.first_token_seconds),
            time.monotonic() - attempt.started,
            usage.input_tokens if usage else None, usage.output_tokens if usage else None,
            outcome,
            extra={"streamchat": {
                "provider": attempt.provider, "model": attempt.model, "url": attempt.url,
                "status": attempt.status, "request_id": attempt.request_id,
                "attempt": attempt.number, "ttft": attempt.first_token_seconds,
                "duration": time.monotonic() - attempt.started,
                "input_tokens": usage.input_tokens if usage else None,
                "output_tokens": usage.output_tokens if usage else None,
                "finish_reason": attempt.finish_reason,
                "error": type(error).__name__ if isinstance(error, StreamChatError) else None,
            }},
        )

    def retrying(self, target: Target, event: RetryEvent) -> RetryEvent:
        """A retry is about to be announced; returns the event."""
        logger.warning("%s %s attempt %d of %d failed, retrying in %.1f s: %s",
                       target.provider, target.model, event.attempt, event.max_attempts,
                       event.delay, event.error)
        if self.trace is not None:
            self.trace.retrying(event)
        return event

    def falling_back(self, target: Target, event: FallbackEvent) -> FallbackEvent:
        """A fallback is about to be announced; returns the event."""
        logger.warning("%s %s failed, falling back to %s %s: %s", target.provider,
                       target.model, event.provider, event.model, event.error)
        if self.trace is not None:
            self.trace.falling_back(event)
        return event

    # -- the consumer ----------------------------------------------------------------

    @property
    def last_attempt(self) -> Optional[Attempt]:
        return self._last

    def stream_ended(self, response: ChatResponse, error: Optional[StreamChatError]) -> None:
        """The stream's end, reported once: hooks, a warning when it did not finish, the
        span closed."""
        if self._ended:
            return
        self._ended = True
        if self._last is not None and not self._last.ended:
            # The attempt under way when the stream was interrupted.
            self.attempt_ended(self._last, _INTERRUPTED)
        if error is not None:
            # The message, not the exception: a handler that keeps records (pytest's, a
            # buffering one) would keep its traceback, and through it the Stream, alive.
            logger.warning("%s %s stream failed: %s: %s", response.provider or self.provider,
                           response.model or self.model, type(error).__name__, str(error))
        elif response.finish_reason in ("cancelled", "paused"):
            # INFO, not WARNING: the caller stopped it. A web app's Stop button, or a
            # thousand streams stopped at once, is not something going wrong.
            logger.info("%s %s stream %s after %.3f s (%d characters of text)",
                        response.provider or self.provider, response.model or self.model,
                        response.finish_reason, time.monotonic() - self._started,
                        len(response.text))
        if self.trace is not None:
            self.trace.end(response, error, self._last)
        if self._on_response is not None:
            _call(self._on_response, "on_response", response, error)

    def _masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


_INTERRUPTED = Exception("interrupted")


def _call(hook: Callable[..., None], name: str, *args: Any) -> None:
    try:
        hook(*args)
    except Exception:
        logger.exception("streamchat: the %s hook raised; the stream carries on", name)


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}s"


@functools.cache
def _otel() -> Optional[ModuleType]:
    """`streamchat.otel`, imported the first time a stream asks, or None when
    OpenTelemetry is not installed."""
    try:
        return importlib.import_module(".otel", __package__)
    except ImportError:
        return None


def log_from_environment(value: Optional[str] = None) -> None:
    """STREAMCHAT_LOG=debug|info|warning: the `streamchat` logger at that level, on
    stderr, for a quick look without configuring logging."""
    value = (value if value is not None else os.environ.get("STREAMCHAT_LOG", "")).strip()
    level = logging.getLevelName(value.upper()) if value else None
    if not isinstance(level, int):
        return
    logger.setLevel(level)
    if not any(getattr(h, "_streamchat_env", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._streamchat_env = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


log_from_environment()
