"""OpenTelemetry: one span per stream after the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/), parented to the caller's
current span although the work runs in the worker thread, and the GenAI client metrics
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/); checked with the
SDK's in-memory exporter and reader."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any, Dict, List

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

import streamchat
from streamchat.testing import FakeServer

EXPORTER = InMemorySpanExporter()
READER = InMemoryMetricReader()
# Providers of the test's own, handed to the Client as an instrumentation takes them: the
# process-wide ones stay untouched for every other test.
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
METER_PROVIDER = MeterProvider(metric_readers=[READER])


@pytest.fixture
def server():
    with FakeServer() as fake:
        EXPORTER.clear()
        yield fake


def client(server: FakeServer, wire: str = "openai", **options: Any) -> streamchat.Client:
    options.setdefault("timeouts", streamchat.Timeouts(first_token=10, idle=10))
    return streamchat.Client(wire, model="m", api_key="sk-test-key-0123456789",
                             base_url=server.base_url(wire), tracer_provider=TRACER_PROVIDER,
                             meter_provider=METER_PROVIDER, **options)


def chat_spans() -> List[ReadableSpan]:
    return [s for s in EXPORTER.get_finished_spans() if s.name.startswith("chat ")]


def test_the_span_is_a_child_of_the_callers_span_and_follows_the_conventions(server):
    server.enqueue(text="Hello there", usage={"input_tokens": 12, "output_tokens": 3})
    tracer = TRACER_PROVIDER.get_tracer("test")

    with tracer.start_as_current_span("view") as parent:
        response = client(server, max_tokens=50, temperature=0.5).complete("hi")

    [span] = chat_spans()
    assert span.name == "chat m" and span.kind == trace.SpanKind.CLIENT
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "m"
    assert attributes["gen_ai.response.model"] == response.model
    assert attributes["gen_ai.response.id"] == response.response_id
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.server_port
    assert attributes["gen_ai.response.time_to_first_chunk"] >= 0
    assert "gen_ai.input.messages" not in attributes  # content only when asked for
    assert "gen_ai.output.messages" not in attributes


def test_the_span_is_current_in_the_worker_thread(server):
    server.enqueue(text="ok")
    current: List[Any] = []

    def on_request(info: Any) -> None:
        current.append((threading.current_thread().name, trace.get_current_span()))

    client(server, on_request=on_request).complete("hi")

    [(thread, span)] = current
    [finished] = chat_spans()
    assert thread.startswith("streamchat-")
    assert span.get_span_context().span_id == finished.context.span_id


def test_retries_are_span_events_and_an_error_sets_error_type(server, no_backoff):
    server.enqueue(status=503)
    server.enqueue(status=401)

    with pytest.raises(streamchat.AuthenticationError):
        client(server, retry=streamchat.RetryPolicy(max_attempts=3)).complete("hi")

    [span] = chat_spans()
    assert [e.name for e in span.events] == ["streamchat.retry"]
    assert span.events[0].attributes["streamchat.attempt"] == 1
    assert span.attributes["error.type"] == "AuthenticationError"
    assert span.status.status_code == trace.StatusCode.ERROR


def test_message_content_is_recorded_only_when_turned_on(server, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    server.enqueue(text="the answer")

    client(server).complete("the question")

    [span] = chat_spans()
    assert "the question" in span.attributes["gen_ai.input.messages"]
    assert "the answer" in span.attributes["gen_ai.output.messages"]


def test_tracing_false_makes_no_span(server):
    server.enqueue(text="ok")

    client(server, tracing=False).complete("hi")

    assert chat_spans() == []


def points(name: str) -> List[Any]:
    data = READER.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


def test_client_metrics_record_duration_tokens_and_first_chunk(server):
    server.enqueue(text="metered", usage={"input_tokens": 7, "output_tokens": 2})

    client(server, "anthropic").complete("hi")

    by_type: Dict[str, int] = {}
    for point in points("gen_ai.client.token.usage"):
        if point.attributes.get("gen_ai.provider.name") == "anthropic":
            by_type[point.attributes["gen_ai.token.type"]] = point.sum
    assert by_type == {"input": 7, "output": 2}
    durations = [p for p in points("gen_ai.client.operation.duration")
                 if p.attributes.get("gen_ai.provider.name") == "anthropic"]
    assert durations and durations[0].count >= 1
    assert durations[0].attributes["gen_ai.operation.name"] == "chat"
    assert points("gen_ai.client.operation.time_to_first_chunk")


def test_an_application_that_does_not_use_opentelemetry_does_not_import_it(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(
        "import sys\n"
        "import streamchat\n"
        "client = streamchat.Client('fake')\n"
        "client.complete('hi')\n"
        "assert 'opentelemetry' not in sys.modules, 'imported'\n"
        "assert 'streamchat.otel' not in sys.modules\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env=env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
