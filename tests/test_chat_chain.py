"""Chat(chain=True) on the Responses API: each turn sends what is new and the previous
answer's id (https://platform.openai.com/docs/guides/conversation-state), the history is
still kept whole, and a turn that did not finish is never chained from."""

from __future__ import annotations

import pytest
from helpers import fake_client

import streamchat
from streamchat.testing import FakeServer


def test_each_turn_sends_only_what_is_new_with_the_previous_id():
    with FakeServer() as server:
        chat = fake_client(server, "openai-responses").chat("Be brief.", chain=True)
        first = chat.send("One?")
        second = chat.send("Two?")
        chat.send("Three?")
        bodies = [r.json for r in server.requests]
    assert "previous_response_id" not in bodies[0]
    assert bodies[1]["previous_response_id"] == first.response_id
    assert bodies[1]["input"] == [{"role": "user", "content": "Two?"}]
    assert bodies[1]["instructions"] == "Be brief."  # not carried over by the server
    assert bodies[2]["previous_response_id"] == second.response_id
    assert bodies[2]["input"] == [{"role": "user", "content": "Three?"}]
    assert len(chat.history) == 7  # system + three turns, kept whole


def test_tool_results_follow_the_answer_that_asked_for_them():
    with FakeServer() as server:
        chat = fake_client(server, "openai-responses").chat(chain=True)
        server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
        asked = chat.send("Weather in Oslo?", tools=[streamchat.Tool(name="get_weather")])
        chat.add_tool_result(asked.tool_calls[0].id, "7 C")
        chat.send(tools=[streamchat.Tool(name="get_weather")])
        last = server.requests[-1].json
    assert last["previous_response_id"] == asked.response_id
    assert last["input"] == [{"type": "function_call_output",
                              "call_id": asked.tool_calls[0].id, "output": "7 C"}]


def test_an_interrupted_turn_is_not_chained_from():
    with FakeServer() as server:
        chat = fake_client(server, "openai-responses").chat(chain=True)
        chat.send("One?")
        stream = chat.stream("Two?")
        stream.interrupt()
        stream.final()
        chat.send("Three?")
        # The interrupted request may reach the server after this one, or only in part (cut
        # while it was being sent, its body is no JSON): find the third turn by content.
        (last,) = [r.json for r in server.requests
                   if r.json is not None and r.json["input"][-1].get("content") == "Three?"]
    assert "previous_response_id" not in last
    assert last["input"][0]["content"] == "One?"


def test_chain_needs_the_responses_api_and_stored_responses():
    with pytest.raises(streamchat.ConfigurationError, match="Responses API"):
        streamchat.Client("anthropic", api_key="k").chat(chain=True)
    with pytest.raises(streamchat.ConfigurationError, match="store"):
        streamchat.Client("openai-responses", api_key="k").chat(chain=True, store=False)


def test_moving_to_another_client_resends_the_history():
    with FakeServer() as server:
        chat = fake_client(server, "openai-responses").chat(chain=True)
        chat.send("One?")
        chat.use(fake_client(server, "openai-responses"))
        chat.send("Two?")
        last = server.requests[-1].json
    assert "previous_response_id" not in last and len(last["input"]) == 3
