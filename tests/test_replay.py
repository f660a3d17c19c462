"""replay(): a recording goes through the same framing, decoder, worker and queue."""

import pytest
from helpers import CHUNK_SIZES, FIXTURES, fixture, split

import streamchat


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_recorded_openai_stream_replays_to_the_right_response(size):
    stream = streamchat.replay(FIXTURES / "openai" / "reasoning_text_tools.sse", provider="openai",
                               chunk_size=size)
    kinds = [event.type for event in stream]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("tool_call") == 2
    response = stream.response
    assert response.thinking == "Need weather for two cities; call both at once."
    assert response.text == "Checking both cities."
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_00_aQ1", "get_weather", {"city": "Oslo"}),
        ("call_01_bZ7", "get_weather", {"city": "Lima"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "tool_calls"
    assert response.usage.input_tokens == 230
    assert response.usage.output_tokens == 96
    assert response.usage.cached_input_tokens == 128
    assert response.usage.reasoning_tokens == 41


def test_replay_takes_bytes_paths_and_chunk_iterables():
    data = fixture("openai", "text_usage.sse")
    for source in (data, str(FIXTURES / "openai" / "text_usage.sse"), iter(split(data, 5))):
        assert streamchat.replay(source).final().text == "Café crème ☕"


def test_truncated_recording_raises_with_partial():
    stream = streamchat.replay(fixture("openai", "truncated.sse"))
    with pytest.raises(streamchat.ProtocolError) as info:
        stream.final()
    assert info.value.partial.text == "Once upon a time"
    assert stream.error is info.value


def test_text_stream_yields_only_text():
    stream = streamchat.replay(fixture("openai", "deepseek_reasoning.sse"))
    assert list(stream.text_stream) == ["9.8 is larger."]


def test_unknown_wire_format_is_a_configuration_error():
    with pytest.raises(streamchat.ConfigurationError, match="unknown wire format 'nope'"):
        streamchat.replay(b"", provider="nope")


def test_bad_chunk_size_is_refused():
    with pytest.raises(ValueError, match="chunk_size"):
        streamchat.replay(b"", chunk_size=0)
