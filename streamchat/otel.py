"""OpenTelemetry for streamchat: one span per stream and the GenAI client metrics,
following the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/ and
https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/).

Imported only when opentelemetry-api is installed (`pip install 'streamchat[otel]'`) and a
stream starts; without an SDK configured the API hands out no-op spans, so the cost is a
few calls per stream. The span starts in the caller's thread, as a child of whatever span
is current there, and is made current in the stream's worker thread too, so that HTTP
spans from an instrumentation of requests nest under it. Message content is recorded
only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, as the GenAI
instrumentations do.
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .errors import StreamChatError
from .target import Target
from .types import ChatResponse, FallbackEvent, RetryEvent
from .version import __version__

_PROVIDER_NAMES = {
    # NOTE: gen_ai.provider.name has well-known values; other presets use their own id.
    "openai": "openai", "openai-responses": "openai", "azure": "azure.ai.openai",
    "azure-responses": "azure.ai.openai", "anthropic": "anthropic", "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai", "xai": "x_ai", "groq": "groq", "deepseek": "deepseek",
}

_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                  16777216, 67108864]
_SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                    20.48, 40.96, 81.92]


class _Instruments:
    """The client metrics, created once per meter provider (None: the global one)."""

    def __init__(self, provider: Any) -> None:
        meter = metrics.get_meter("streamchat", __version__, meter_provider=provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed answer",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )


@functools.cache
def _instruments(provider: Any) -> _Instruments:
    return _Instruments(provider)


def capture_content() -> bool:
    value = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return value.strip().lower() in ("true", "1", "yes")


class StreamTrace:
    """The span of one stream, from the call to its end, and the metrics it records."""

    def __init__(
        self, target: Target, tracer_provider: Any = None, meter_provider: Any = None
    ) -> None:
        request = target.request
        self._meter_provider = meter_provider
        self._attributes: Dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": _PROVIDER_NAMES.get(target.provider, target.provider),
            "gen_ai.request.model": target.model,
        }
        if target.endpoint is not None:
            url = urlsplit(target.endpoint.base_url)
            if url.hostname:
                self._attributes["server.address"] = url.hostname
                self._attributes["server.port"] = url.port or (443 if url.scheme == "https"
                                                               else 80)
        span_attributes = dict(self._attributes)
        for name, value in (("gen_ai.request.max_tokens", request.max_tokens),
                            ("gen_ai.request.temperature", request.temperature)):
            if value is not None:
                span_attributes[name] = value
        if capture_content():
            span_attributes["gen_ai.input.messages"] = json.dumps(
                [m.model_dump(mode="json", exclude_none=True) for m in request.messages],
                ensure_ascii=False,
            )
        tracer = trace.get_tracer("streamchat", __version__, tracer_provider=tracer_provider)
        # Started here, in the caller's thread: the current span there is the parent.
        self.span = tracer.start_span(f"chat {target.model}", kind=SpanKind.CLIENT,
                                      attributes=span_attributes)
        self._context = trace.set_span_in_context(self.span)
        self._started = time.monotonic()
        self._first_chunk: Optional[float] = None

    def enter(self) -> object:
        return context.attach(self._context)

    def leave(self, token: object) -> None:
        context.detach(token)  # type: ignore[arg-type]

    def attempt_ended(self, attempt: Any, error: Optional[BaseException]) -> None:
        if error is None and attempt.first_token_seconds is not None:
            self._first_chunk = attempt.first_token_seconds
            self.span.set_attribute("gen_ai.response.time_to_first_chunk",
                                    attempt.first_token_seconds)

    def retrying(self, event: RetryEvent) -> None:
        self.span.add_event("streamchat.retry", {
            "streamchat.attempt": event.attempt, "streamchat.max_attempts": event.max_attempts,
            "streamchat.delay": event.delay, "error.message": event.error,
        })

    def falling_back(self, event: FallbackEvent) -> None:
        self.span.add_event("streamchat.fallback", {
            "gen_ai.provider.name": _PROVIDER_NAMES.get(event.provider, event.provider),
            "gen_ai.request.model": event.model, "error.message": event.error,
        })

    def end(self, response: ChatResponse, error: Optional[StreamChatError],
            attempt: Any) -> None:
        span = self.span
        attributes = dict(self._attributes)
        if response.provider:  # the fallback's, when one answered
            attributes["gen_ai.provider.name"] = _PROVIDER_NAMES.get(response.provider,
                                                                     response.provider)
        if response.model:
            attributes["gen_ai.response.model"] = response.model
        if error is not None:
            attributes["error.type"] = type(error).__name__
        span.set_attributes(attributes)
        if response.response_id:
            span.set_attribute("gen_ai.response.id", response.response_id)
        if response.finish_reason is not None:
            span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
        if response.request_id:
            span.set_attribute("streamchat.request_id", response.request_id)
        usage = response.usage
        counts: List[Any] = []
        if usage is not None:
            counts = [(kind, n) for kind, n in (("input", usage.input_tokens),
                                                ("output", usage.output_tokens))
                      if n is not None]
            for kind, n in counts:
                span.set_attribute(f"gen_ai.usage.{kind}_tokens", n)
        if capture_content() and (response.text or response.tool_calls):
            output = response.to_message().model_dump(mode="json", exclude_none=True)
            span.set_attribute("gen_ai.output.messages", json.dumps([output],
                                                                    ensure_ascii=False))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()
        instruments = _instruments(self._meter_provider)
        instruments.duration.record(time.monotonic() - self._started, attributes)
        for kind, n in counts:
            instruments.tokens.record(n, dict(attributes, **{"gen_ai.token.type": kind}))
        if self._first_chunk is not None:
            instruments.first_chunk.record(self._first_chunk, attributes)
