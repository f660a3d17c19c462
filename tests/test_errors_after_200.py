"""Errors that arrive after a 200, and error bodies in the shapes gateways really send:
classified by what they say, with what the stream had reported kept in `.partial`."""

import json

import pytest
from helpers import CHUNK_SIZES, fixture, same_at_every_split
from loopback import Loopback

import streamchat
from streamchat.errors import (
    ConnectionFailedError,
    ContextOverflowError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from streamchat.framing import Frame
from streamchat.wire import openai_chat, openai_responses
from streamchat.wire.errors import error_from_payload, error_from_response


def client_for(server, **options):
    return streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                             retry=streamchat.RetryPolicy(max_attempts=1), **options)


def serve(body, status=200, content_type="text/event-stream"):
    def handler(ex):
        ex.handler.send_response(status)
        ex.handler.send_header("Content-Type", content_type)
        ex.handler.send_header("Content-Length", str(len(body)))
        ex.handler.end_headers()
        ex.handler.wfile.write(body)
        ex.handler.wfile.flush()
    return handler


# -- numeric codes, by number ------------------------------------------------------------

@pytest.mark.parametrize(("code", "expected"), [
    (400, InvalidRequestError),
    (402, InvalidRequestError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (429, RateLimitError),
    (502, ServerError),
    ("400", InvalidRequestError),
    ("429", RateLimitError),
])
def test_an_in_stream_error_code_that_is_a_status_is_classified_by_number(code, expected):
    # NOTE: OpenRouter's error.code is the HTTP status as a number
    # (https://openrouter.ai/docs/api/reference/errors-and-debugging); LiteLLM's proxy
    # sends it as a string.
    error = error_from_payload("openrouter", {"error": {"code": code, "message": "no"}})
    assert type(error) is expected
    assert type(error) is type(error_from_response("openrouter", int(code), "{}"))
    assert error.retryable is expected.retryable


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_openrouter_error_chunk_keeps_its_usage_and_served_model(size):
    events, error = same_at_every_split(
        openai_chat, "openai", "openrouter_error_numeric.sse", size, provider="openrouter"
    )
    assert [e.type for e in events] == ["text"]
    assert type(error) is PermissionDeniedError
    assert not error.retryable
    assert "input was flagged" in str(error)
    assert "openrouter" in str(error)


def test_the_error_chunks_usage_and_model_reach_partial():
    with Loopback(serve(fixture("openai", "openrouter_error_numeric.sse"))) as server:
        stream = client_for(server).stream("hi")
        with pytest.raises(PermissionDeniedError) as caught:
            stream.final()
    partial = caught.value.partial
    assert partial.text == "The answer"
    assert partial.model == "anthropic/claude-sonnet-4.5"
    assert partial.usage is not None
    assert (partial.usage.input_tokens, partial.usage.output_tokens) == (14, 2)
    assert len(server.requests) == 1


# -- gateway labels ------------------------------------------------------------------------

@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_litellm_context_window_label_is_a_context_overflow(size):
    events, error = same_at_every_split(
        openai_chat, "openai", "litellm_context_window.sse", size, provider="openai-compatible"
    )
    assert events == []
    assert type(error) is ContextOverflowError


def test_litellm_context_window_label_on_an_http_error_is_a_context_overflow():
    body = {"error": {"message": "litellm.ContextWindowExceededError: upstream said no",
                      "type": None, "param": None, "code": "400"}}
    error = error_from_response("openai-compatible", 400, json.dumps(body))
    assert type(error) is ContextOverflowError


# -- bodies in an unexpected framing --------------------------------------------------------

CHAT_COMPLETION = {
    "id": "chatcmpl-W1", "object": "chat.completion", "model": "gpt-4.1-mini-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole answer."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
}


def test_a_json_body_answering_a_streaming_request_is_read_as_a_whole_response():
    body = json.dumps(CHAT_COMPLETION).encode()
    with Loopback(serve(body, content_type="application/json")) as server:
        stream = client_for(server).stream("hi")
        kinds = [e.type for e in stream]
    assert kinds == ["start", "text", "usage", "done"]
    response = stream.response
    assert response.text == "Whole answer."
    assert response.finish_reason == "stop"
    assert response.usage.total_tokens == 12
    assert response.model == "gpt-4.1-mini-2025-04-14"


def test_a_whole_json_answer_is_recorded_as_it_came(tmp_path):
    body = json.dumps(CHAT_COMPLETION).encode()
    path = tmp_path / "answer.json"
    with Loopback(serve(body, content_type="application/json")) as server:
        assert client_for(server).complete("hi", record_to=str(path)).text == "Whole answer."
    assert path.read_bytes() == body


def test_a_json_error_body_answering_a_streaming_request_is_typed():
    body = b'{"error": {"message": "model overloaded, try later", "code": 429}}'
    whole_json = serve(body, content_type="application/json; charset=utf-8")
    with Loopback(whole_json) as server, pytest.raises(RateLimitError) as caught:
        client_for(server).complete("hi")
    assert "model overloaded" in str(caught.value)


def test_an_sse_framed_error_body_on_a_non_2xx_is_read_for_its_message():
    body = (b'event: error\ndata: {"error": {"message": "Rate limit reached for requests",'
            b' "type": "requests", "code": "rate_limit_exceeded"}}\n\n')
    error = error_from_response("openai", 500, body.decode())
    assert "Rate limit reached for requests" in str(error)
    assert "data:" not in str(error)
    with Loopback(serve(body, status=503)) as server, pytest.raises(ServerError) as caught:
        client_for(server).complete("hi")
    assert "Rate limit reached for requests" in str(caught.value)
    assert "event: error" not in str(caught.value)


# -- Responses: completed, but incomplete ---------------------------------------------------

def test_responses_completed_with_status_incomplete_finishes_as_length():
    # NOTE: https://platform.openai.com/docs/api-reference/responses/object: `status` is
    # one of completed, failed, in_progress, cancelled, queued or incomplete, whatever
    # the name of the event that carried the response.
    decoder = openai_responses.new_decoder("openai-responses")
    response = {"id": "resp_1", "status": "incomplete", "model": "gpt-5",
                "incomplete_details": {"reason": "max_output_tokens"}, "output": [],
                "usage": {"input_tokens": 5, "output_tokens": 64, "total_tokens": 69}}
    events = decoder.feed(Frame(json.dumps({"type": "response.completed", "response": response}),
                                "response.completed"))
    done = events[-1]
    assert done.type == "done"
    assert done.finish_reason == "length"
    assert done.provider_finish_reason == "max_output_tokens"


def test_responses_completed_with_status_incomplete_matches_stream_false():
    response = {"id": "resp_1", "status": "incomplete", "model": "gpt-5", "output": [],
                "incomplete_details": {"reason": "max_output_tokens"}}
    streamed = openai_responses.new_decoder("p").feed(
        Frame(json.dumps({"type": "response.completed", "response": response}),
              "response.completed"))
    whole = openai_responses.decode_body(response, "p")
    assert streamed[-1].finish_reason == whole[-1].finish_reason == "length"


# -- connection failures name the provider --------------------------------------------------

def test_a_connection_broken_mid_body_names_the_provider():

    def cut_chunked(ex):
        ex.start(framing="chunked")
        ex.handler.wfile.write(b"5\r\nda")  # a chunk cut short, then the connection ends
        ex.handler.wfile.flush()
        ex.handler.connection.shutdown(2)

    with Loopback(cut_chunked) as server:
        client = streamchat.Client("groq", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=1))
        with pytest.raises(ConnectionFailedError) as caught:
            client.complete("hi")
    assert caught.value.provider == "groq"
    assert "groq" in str(caught.value)
