"""What a provider needs back next turn goes back verbatim to the same wire, and only the
neutral part goes to another: two-turn loops over recorded first answers, asserting the
exact second request each wire sends."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest
from helpers import FIXTURES, decoded, fake_client

import streamchat
from streamchat.accumulate import fold
from streamchat.testing import FakeServer
from streamchat.types import ChatRequest, ChatResponse, Message
from streamchat.wire import anthropic, openai_chat, openai_responses
from streamchat.wire.common import Endpoint


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def recorded(wire: str, name: str) -> bytes:
    return (FIXTURES / wire / name).read_bytes()


def answer(module: Any, wire: str, name: str) -> ChatResponse:
    return fold(decoded(module, wire, name, None))


def body_for(module: Any, wire: str, messages: List[Message], **fields: Any) -> Dict[str, Any]:
    request = ChatRequest(model="m", messages=messages, **fields)
    built = module.build_request(request, Endpoint(provider=wire, base_url="http://x"))
    assert built.json is not None
    return built.json


# -- Claude through the Messages API ------------------------------------------------------


def test_anthropic_server_blocks_go_back_verbatim() -> None:
    first = answer(anthropic, "anthropic", "web_search_citations.sse")
    messages = [Message.user("tech news?"), first.to_message(), Message.user("and more?")]
    sent = body_for(anthropic, "anthropic", messages)["messages"][1]
    kept = first.provider_data["anthropic"]["content"]
    assert sent == {"role": "assistant", "content": kept}
    assert sent["content"][1]["content"][0]["encrypted_content"].startswith("ErkeCioICBgC")


def test_anthropic_empty_text_blocks_are_not_sent_back() -> None:
    # NOTE: a server tool turn can open a text block and close it empty (web fetch does).
    use = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_fetch",
           "input": {"url": "https://example.com"}}
    result = {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_1", "content": {}}
    kept = [{"type": "text", "text": ""}, use, result, {"type": "text", "text": "Done."}]
    message = Message(role="assistant", content="Done.",
                      provider_data={"anthropic": {"content": kept}})
    sent = body_for(anthropic, "anthropic", [Message.user("fetch"), message,
                                             Message.user("thanks")])["messages"][1]["content"]
    assert sent == kept[1:]


def test_chat_run_continues_a_paused_turn(server: FakeServer) -> None:
    server.enqueue(body=recorded("anthropic", "pause_turn.sse"))
    server.enqueue(text="Summary: mild and sunny.")
    chat = streamchat.Chat(fake_client(server, "anthropic"))
    run = chat.run("Search the weather", tools={})
    final = run.final()
    assert final.text == "Summary: mild and sunny."
    assert [r.provider_finish_reason for r in run.responses] == ["pause_turn", "end_turn"]
    paused = run.responses[0].provider_data["anthropic"]["content"]
    second = server.requests[1].json
    # The paused answer goes back as the last turn, thinking signature and all.
    assert second["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Search the weather"}]},
        {"role": "assistant", "content": [b for b in paused if b["type"] != "text" or b["text"]]},
    ]
    assert second["messages"][1]["content"][0]["type"] == "thinking"
    assert second["messages"][1]["content"][0]["signature"]


def test_a_continued_pause_counts_as_a_round(server: FakeServer) -> None:
    # answers.rst: "each continuation counts as a round": max_rounds=1 sends one request
    # and hands back the paused answer, as it is, rather than continuing it.
    server.enqueue(body=recorded("anthropic", "pause_turn.sse"))
    server.enqueue(text="never sent")
    run = streamchat.Chat(fake_client(server, "anthropic")).run("Search", tools={}, max_rounds=1)
    final = run.final()
    assert (final.finish_reason, final.provider_finish_reason) == ("other", "pause_turn")
    assert len(server.requests) == 1


# -- Claude through a Chat Completions gateway --------------------------------------------------


def test_litellm_thinking_and_tools_loop(server: FakeServer) -> None:
    server.enqueue(body=recorded("openai", "litellm_thinking_blocks.sse"))
    server.enqueue(text="It is sunny in Paris.")
    chat = streamchat.Chat(fake_client(server, "openai"))
    final = chat.run("Weather in Paris?", tools={"get_weather": lambda city: "sunny"}).final()
    assert final.text == "It is sunny in Paris."
    second = server.requests[1].json["messages"]
    assert second[1:] == [
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                            "function": {"name": "get_weather",
                                         "arguments": '{"city": "Paris"}'}}],
            "thinking_blocks": [{
                "type": "thinking",
                "thinking": "The user wants the weather in Paris; I should call the tool.",
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYdsQ9wd0wS3Dzv8d"
                             "Ln9o2J5k0lIlrZ4u3TjCkUt7kdsvF5DQ==",
            }],
        },
        {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "sunny"},
    ]


def test_openrouter_reasoning_details_go_back() -> None:
    first = answer(openai_chat, "openai", "openrouter_reasoning_details.sse")
    sent = body_for(openai_chat, "openai", [Message.user("What is 2+2?"), first.to_message(),
                                            Message.user("And 3+3?")])["messages"][1]
    (detail,) = sent["reasoning_details"]
    assert sent["content"] == "2 + 2 = 4"
    assert detail == first.provider_data["openai"]["message"]["reasoning_details"][0]
    assert detail["signature"].startswith("Et0BCkgI") and detail["index"] == 0


# -- OpenAI reasoning models through Responses, without server-side state --------------------


@pytest.mark.parametrize("store", [False, None])
def test_responses_reasoning_loop(server: FakeServer, store: Any) -> None:
    server.enqueue(body=recorded("openai-responses", "reasoning_encrypted.sse"))
    server.enqueue(text="228")
    options = {} if store is None else {"store": store}
    chat = streamchat.Chat(fake_client(server, "openai-responses", **options))
    final = chat.run("(12 + 7) * 3 * 4?", tools={"calculator": lambda a, b, op: 19}).final()
    assert final.text == "228"
    output = answer(openai_responses, "openai-responses", "reasoning_encrypted.sse")
    items = output.provider_data["openai-responses"]["output"]
    second = server.requests[1].json
    call_id = items[1]["call_id"]
    if store is False:
        # Nothing was stored: no ids, reasoning carried by its encrypted content.
        assert second["include"] == ["reasoning.encrypted_content"]
        assert second["store"] is False
        kept = [{k: v for k, v in item.items() if k != "id"} for item in items]
    else:
        assert "include" not in second
        kept = items
    assert second["input"] == [
        {"role": "user", "content": "(12 + 7) * 3 * 4?"},
        *kept,
        {"type": "function_call_output", "call_id": call_id, "output": "19"},
    ]
    assert kept[0]["type"] == "reasoning" and kept[0]["encrypted_content"]


def test_stateless_replay_drops_what_cannot_be_resolved() -> None:
    first = answer(openai_responses, "openai-responses", "web_search_annotations.sse")
    sent = body_for(openai_responses, "openai-responses",
                    [Message.user("news?"), first.to_message()], store=False)["input"][1:]
    # Bare reasoning items and server tool items need the server's copy: only the
    # message (without its id) can go back.
    assert [item["type"] for item in sent] == ["message"]
    assert "id" not in sent[0]


# -- another wire gets the neutral part --------------------------------------------------------


def test_opaque_parts_stay_with_their_wire() -> None:
    claude = answer(anthropic, "anthropic", "web_search_citations.sse").to_message()
    sent = body_for(openai_chat, "openai", [Message.user("news?"), claude])["messages"][1]
    assert sent == {"role": "assistant", "content": claude.content}
    gateway = answer(openai_chat, "openai", "litellm_thinking_blocks.sse").to_message()
    blocks = body_for(anthropic, "anthropic", [Message.user("?"), gateway])["messages"][1]
    # The signed thinking is neutral (ThinkingBlock), so Messages still gets it; the
    # gateway's own field does not travel.
    assert blocks["content"][0]["type"] == "thinking"
    assert "thinking_blocks" not in blocks
    responses = answer(openai_responses, "openai-responses", "reasoning_encrypted.sse")
    sent = body_for(anthropic, "anthropic", [Message.user("?"), responses.to_message()])
    assert [b["type"] for b in sent["messages"][1]["content"]] == ["tool_use"]


def test_anthropic_thinking_and_tools_loop(server: FakeServer) -> None:
    server.enqueue(thinking="Need the weather first.",
                   tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"},
                                "id": "toolu_1"}])
    server.enqueue(text="Sunny.")
    chat = streamchat.Chat(fake_client(server, "anthropic"))
    run = chat.run("Weather in Paris?", tools={"get_weather": lambda city: "sunny"},
                   thinking=True)
    assert run.final().text == "Sunny."
    (block,) = run.responses[0].thinking_blocks
    second = server.requests[1].json["messages"]
    # The signed thinking goes back first and unchanged, then the call, then its result.
    assert second[1:] == [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Need the weather first.",
             "signature": block.signature},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
             "input": {"city": "Paris"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        ]},
    ]


def test_provider_data_survives_a_saved_conversation(server: FakeServer) -> None:
    server.enqueue(body=recorded("openai", "openrouter_reasoning_details.sse"))
    client = fake_client(server, "openai")
    chat = streamchat.Chat(client)
    chat.send("What is 2+2?")
    restored = streamchat.Chat.from_json(chat.to_json(), client)
    assert restored.history[1].provider_data == chat.history[1].provider_data
    kept = restored.history[1].provider_data["openai"]["message"]
    assert kept["reasoning_details"][0]["signature"]


def test_gateway_fields_go_back_only_to_that_gateway() -> None:
    decoder = openai_chat.new_decoder("openrouter")
    events = [e for line in recorded("openai", "openrouter_reasoning_details.sse").split(b"\n")
              if line.startswith(b"data: {") for e in decoder.feed_chunk(json.loads(line[6:]))]
    first = fold([*events, *decoder.end()])
    assert first.provider_data["openai"]["provider"] == "openrouter"
    messages = [Message.user("2+2?"), first.to_message(), Message.user("3+3?")]
    request = ChatRequest(model="m", messages=messages)
    for provider, sent in (("openrouter", True), ("openai", False)):
        built = openai_chat.build_request(request, Endpoint(provider=provider, base_url="http://x"))
        assert ("reasoning_details" in built.json["messages"][1]) is sent, provider
