"""What comes back besides text: refusals, citations, server-side tools, signed reasoning and
cache writes, decoded from recorded streams at every chunking and from whole bodies.

Each fixture names its recording (or the documentation it was built from) on its first line.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest
from helpers import CHUNK_SIZES, FIXTURES, decoded, fake_client, same_at_every_split

from streamchat.accumulate import fold
from streamchat.testing import FakeServer
from streamchat.types import ChatResponse, Event
from streamchat.wire import anthropic, gemini, openai_chat, openai_responses

WIRES: Dict[str, Any] = {
    "anthropic": anthropic,
    "openai-responses": openai_responses,
    "openai": openai_chat,
    "gemini": gemini,
}


def response_of(wire: str, name: str, size: Optional[int] = None) -> ChatResponse:
    events, error = same_at_every_split(WIRES[wire], wire, name, size)
    assert error is None, error
    return fold(events)


def body(wire: str, name: str) -> Any:
    """A recorded non-streamed response (its source is beside it in the file)."""
    return json.loads((FIXTURES / wire / "bodies" / name).read_text("utf-8"))["body"]


def types(events: List[Event]) -> List[str]:
    return [e.type for e in events]


CASES = [
    ("anthropic", "web_search_citations.sse"),
    ("anthropic", "refusal.sse"),
    ("anthropic", "code_execution.sse"),
    ("anthropic", "mcp.sse"),
    ("anthropic", "cache_write.sse"),
    ("anthropic", "pause_turn.sse"),
    ("openai-responses", "web_search_annotations.sse"),
    ("openai-responses", "reasoning_encrypted.sse"),
    ("openai-responses", "code_interpreter.sse"),
    ("openai-responses", "refusal.sse"),
    ("openai", "refusal.sse"),
    ("openai", "web_search_annotations.sse"),
    ("openai", "litellm_thinking_blocks.sse"),
    ("openai", "openrouter_reasoning_details.sse"),
    ("openai", "mistral_content_parts.sse"),
    ("openai", "perplexity_citations.sse"),
]


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize(("wire", "name"), CASES)
def test_every_chunking_gives_the_same_events(wire: str, name: str, size: Optional[int]) -> None:
    response_of(wire, name, size)


def test_every_fixture_names_its_source() -> None:
    for wire, name in CASES:
        first = (FIXTURES / wire / name).read_text("utf-8").splitlines()[0]
        assert first.startswith(": source ") and "https://" in first, (wire, name)


# -- citations ------------------------------------------------------------------------


def test_anthropic_citations_span_the_text_block_that_cites() -> None:
    response = response_of("anthropic", "web_search_citations.sse")
    assert len(response.citations) == 14
    first = response.citations[0]
    assert response.text[first.start:first.end] == (
        "Apple today announced the grand reopening of Apple Ginza on Friday, September 26, "
        "located in the vibrant Ginza district where Apple's retail journey in Japan began "
        "more than two decades ago. Apple Ginza opens to customers Friday, September 26, at "
        "10 a.m. JST."
    )
    assert first.url is not None and first.url.startswith("https://www.apple.com/newsroom/")
    assert first.cited_text is not None and first.cited_text.startswith("Apple today announced")
    assert first.source == "web_search_result_location"
    assert all(c.start is not None and c.end is not None for c in response.citations)


def test_responses_annotations_are_offsets_into_the_whole_text() -> None:
    response = response_of("openai-responses", "web_search_annotations.sse")
    assert len(response.citations) == 12
    for citation in response.citations:
        span = response.text[citation.start:citation.end]
        # Each url_citation covers the markdown link the model wrote for its source.
        assert span.startswith("([") and span.endswith("))"), span
        assert citation.url is not None and citation.url in span
        assert citation.source == "url_citation"


def test_chat_annotations_and_perplexity_sources() -> None:
    response = response_of("openai", "web_search_annotations.sse")
    (citation,) = response.citations
    assert response.text[citation.start:citation.end] == (
        "([uefa.com](https://www.uefa.com/euro2024/news/spain-england/?utm_source=openai))"
    )
    sources = response_of("openai", "perplexity_citations.sse").citations
    assert [c.url for c in sources][:2] == [
        "https://populationstat.com/united-states/san-francisco",
        "https://en.wikipedia.org/wiki/San_Francisco",
    ]
    assert len(sources) == 7 and all(c.start is None for c in sources)


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", ["openai", "openai-responses"])
def test_openai_refusal_is_not_text(wire: str) -> None:
    response = response_of(wire, "refusal.sse")
    assert response.refusal == "I'm sorry, I can't help with that."
    assert response.text == ""
    assert response.finish_reason == "refusal"


def test_anthropic_refusal_carries_the_explanation() -> None:
    events = decoded(anthropic, "anthropic", "refusal.sse", None)
    assert types(events) == ["usage", "usage", "refusal", "done"]
    response = fold(events)
    assert (response.finish_reason, response.provider_finish_reason) == ("refusal", "refusal")
    assert response.refusal is not None and response.refusal.startswith("This request triggered")
    assert response.text == ""


@pytest.mark.parametrize(
    ("name", "explanation"),
    [
        ("refusal.json", "This request triggered"),
        ("refusal_no_details.json", ""),
    ],
)
def test_anthropic_refusal_body(name: str, explanation: str) -> None:
    response = fold(anthropic.decode_body(body("anthropic", name), "anthropic"))
    assert response.finish_reason == "refusal"
    assert response.refusal is not None and response.refusal.startswith(explanation)


# -- server-side tools ----------------------------------------------------------------------


def test_anthropic_web_search_call_and_results() -> None:
    response = response_of("anthropic", "web_search_citations.sse")
    (search,) = response.server_tool_calls
    assert (search.id, search.name) == ("srvtoolu_01Bj5uzzLcYG5hfueSLcDH8k", "web_search")
    assert search.input == {"query": "tech news today September 26 2025"}
    assert [r["type"] for r in search.output] == ["web_search_result", "web_search_result"]
    assert response.tool_calls == []


def test_anthropic_code_execution_and_mcp() -> None:
    runs = response_of("anthropic", "code_execution.sse").server_tool_calls
    assert [r.name for r in runs] == ["text_editor_code_execution", "bash_code_execution"]
    assert runs[1].output["stdout"].startswith("The 10th Fibonacci number is: 34")
    (echo,) = response_of("anthropic", "mcp.sse").server_tool_calls
    assert (echo.name, echo.input) == ("echo", {"message": "hello world"})
    assert echo.output == [{"type": "text", "text": "Tool echo: hello world"}]


def test_responses_server_tools() -> None:
    searches = response_of("openai-responses", "web_search_annotations.sse").server_tool_calls
    assert [s.name for s in searches] == ["web_search"] * 6
    assert searches[0].input == {"type": "search", "query": "tech news today December 5 2025"}
    assert searches[0].output[0] == {
        "type": "url", "url": "https://www.wired.com/story/the-big-interview-2025-recap"
    }
    runs = response_of("openai-responses", "code_interpreter.sse").server_tool_calls
    assert {r.name for r in runs} == {"code_interpreter"}
    assert runs[0].input["code"].startswith("import random, math")
    assert runs[0].output[0]["type"] == "logs"


# -- reasoning that goes back ---------------------------------------------------------------


def test_responses_reasoning_items_are_kept_with_their_encrypted_content() -> None:
    response = response_of("openai-responses", "reasoning_encrypted.sse")
    items = response.provider_data["openai-responses"]["output"]
    assert [i["type"] for i in items] == ["reasoning", "function_call"]
    # The completed response's item wins over the one announced when it opened.
    assert items[0]["encrypted_content"].startswith("gAAAAABpPDIVYBwu")
    assert response.to_message().provider_data == response.provider_data


def test_plain_answers_carry_no_provider_data() -> None:
    for wire, name in [("anthropic", "thinking.sse"), ("openai-responses", "tool_calls.sse"),
                       ("openai", "deepseek_reasoning.sse"), ("gemini", "text.sse")]:
        assert response_of(wire, name).provider_data == {}, (wire, name)


def test_anthropic_server_blocks_are_kept_verbatim() -> None:
    response = response_of("anthropic", "web_search_citations.sse")
    content = response.provider_data["anthropic"]["content"]
    assert [b["type"] for b in content[:4]] == [
        "server_tool_use", "web_search_tool_result", "text", "text"
    ]
    assert content[0]["input"] == {"query": "tech news today September 26 2025"}
    assert content[1]["content"][0]["encrypted_content"].startswith("ErkeCioICBgC")
    assert content[3]["citations"][0]["type"] == "web_search_result_location"
    assert "".join(b["text"] for b in content if b["type"] == "text") == response.text


def test_litellm_thinking_blocks_keep_the_signature() -> None:
    response = response_of("openai", "litellm_thinking_blocks.sse")
    assert response.thinking == "The user wants the weather in Paris; I should call the tool."
    (block,) = response.provider_data["openai"]["message"]["thinking_blocks"]
    assert block["thinking"] == response.thinking
    assert block["signature"].startswith("EqQBCgIYAhIM")
    assert response.thinking_blocks[0].signature == block["signature"]
    assert [c.name for c in response.tool_calls] == ["get_weather"]


def test_openrouter_reasoning_details_are_merged_by_index() -> None:
    response = response_of("openai", "openrouter_reasoning_details.sse")
    (detail,) = response.provider_data["openai"]["message"]["reasoning_details"]
    assert detail["type"] == "reasoning.text"
    assert detail["text"] == "This is a simple arithmetic question. 2+2 equals 4."
    assert detail["signature"].startswith("Et0BCkgI")
    assert detail["format"] == "anthropic-claude-v1"
    # `reasoning` carried the same text: it is shown once.
    assert response.thinking == detail["text"]


def test_text_only_reasoning_details_are_thinking() -> None:
    decoder = openai_chat.new_decoder("openrouter")
    events: List[Event] = []
    for delta in (
        {"reasoning_details": [{"type": "reasoning.text", "text": "Think", "index": 0}]},
        {"reasoning_details": [{"type": "reasoning.text", "text": "ing.", "index": 0}]},
        {"reasoning_details": [{"type": "reasoning.summary", "summary": "Sum", "index": 1}]},
        {"content": "Done."},
    ):
        events.extend(decoder.feed_chunk({"choices": [{"index": 0, "delta": delta}]}))
    events.extend(decoder.end())
    response = fold(events)
    assert (response.thinking, response.text) == ("Thinking.Sum", "Done.")


def test_mistral_content_parts() -> None:
    response = response_of("openai", "mistral_content_parts.sse")
    assert response.thinking == (
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    )
    assert response.text == "2 + 2 = 4"


# -- cache accounting -------------------------------------------------------------------------


def test_anthropic_cache_writes_are_reported() -> None:
    usage = response_of("anthropic", "cache_write.sse").usage
    assert usage is not None
    assert (usage.cached_input_tokens, usage.cache_write_tokens) == (6289, 3337)
    assert usage.input_tokens == 6 + 6289 + 3337


# -- stream=False gives what the stream gives ----------------------------------------------


def test_anthropic_body_with_search_and_citations() -> None:
    response = fold(anthropic.decode_body(body("anthropic", "web_search.json"), "anthropic"))
    assert [c.name for c in response.server_tool_calls] == ["web_search", "web_search"]
    assert all(c.output is not None for c in response.server_tool_calls)
    assert response.citations and all(
        c.start is not None and c.end is not None and c.end > c.start
        for c in response.citations
    )
    assert response.provider_data["anthropic"]["content"] == body("anthropic", "web_search.json")[
        "content"
    ]


def test_responses_body_gives_what_the_stream_gives() -> None:
    streamed = response_of("openai-responses", "web_search_annotations.sse")
    lines = (FIXTURES / "openai-responses" / "web_search_annotations.sse").read_text("utf-8")
    marker = 'data: {"type":"response.completed"'
    last = next(line for line in lines.splitlines() if line.startswith(marker))
    completed = json.loads(last[len("data: "):])["response"]
    whole = fold(openai_responses.decode_body(completed, "openai-responses"))
    for field in ("text", "citations", "server_tool_calls", "provider_data", "finish_reason"):
        assert getattr(whole, field) == getattr(streamed, field), field


def test_responses_bodies_of_other_recordings() -> None:
    searched = fold(openai_responses.decode_body(body("openai-responses", "web_search.json"), "x"))
    assert searched.citations and all(
        searched.text[c.start:c.end].startswith("([") for c in searched.citations
    )
    recorded = body("openai-responses", "reasoning_encrypted.json")
    reasoned = fold(openai_responses.decode_body(recorded, "x"))
    assert "encrypted_content" in reasoned.provider_data["openai-responses"]["output"][0]


def test_chat_body_refusal_and_annotations() -> None:
    refusal = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": None, "refusal": "I can't help with that."}}]}
    response = fold(openai_chat.decode_body(refusal, "openai"))
    assert (response.refusal, response.text, response.finish_reason) == (
        "I can't help with that.", "", "refusal"
    )
    cited = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "See example.com.", "annotations": [
            {"type": "url_citation", "url_citation": {
                "start_index": 4, "end_index": 15, "url": "https://example.com",
                "title": "Example"}}]}}]}
    response = fold(openai_chat.decode_body(cited, "openai"))
    assert [response.text[c.start:c.end] for c in response.citations] == ["example.com"]


def test_gemini_body_grounding_in_characters() -> None:
    response = fold(gemini.decode_body(body("gemini", "google_search.json"), "gemini"))
    assert response.citations
    for citation in response.citations:
        if citation.start is not None:
            span = response.text[citation.start:citation.end]
            assert span and not span.startswith(" "), span
    assert response.server_tool_calls[0].name == "google_search"


# -- the fake provider scripts all of it ---------------------------------------------------

FAKE_TEXT = "Café news: see python.org now."
SCRIPTED = {
    "text": FAKE_TEXT,
    "citations": [{"url": "https://python.org", "title": "Python", "start": 15, "end": 25}],
    "server_tools": [
        {"name": "web_search", "input": {"query": "python news"},
         "output": [{"type": "url", "url": "https://python.org"}]},
        {"name": "code_execution", "input": {"code": "print(1)"},
         "output": {"outcome": "OUTCOME_OK", "output": "1\n"}},
    ],
}
SERVER_TOOLS = {
    "anthropic": ["web_search", "code_execution"],
    "openai-responses": ["web_search", "code_interpreter"],
    "gemini": ["code_execution", "google_search"],
    "openai": [],
}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("wire", sorted(SERVER_TOOLS))
def test_the_fake_renders_citations_and_server_tools(wire: str, stream: bool) -> None:
    with FakeServer() as server:
        server.enqueue(**SCRIPTED)
        response = fake_client(server, wire, stream=stream).complete("news?")
    assert response.text == FAKE_TEXT
    (citation,) = response.citations
    # Gemini counts bytes ("é" is two): the span is still the characters cited.
    assert (citation.url, response.text[citation.start:citation.end]) == (
        "https://python.org", "python.org"
    )
    assert [t.name for t in response.server_tool_calls] == SERVER_TOOLS[wire]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("wire", ["anthropic", "openai", "openai-responses"])
def test_the_fake_renders_a_refusal(wire: str, stream: bool) -> None:
    with FakeServer() as server:
        server.enqueue(refusal="I can't help with that.")
        response = fake_client(server, wire, stream=stream).complete("?")
    assert (response.text, response.refusal, response.finish_reason) == (
        "", "I can't help with that.", "refusal"
    )


def test_a_citation_outside_the_text_is_refused_at_enqueue() -> None:
    with FakeServer() as server, pytest.raises(ValueError, match="outside the text"):
        server.enqueue(text="short", citations=[{"url": "https://x", "end": 99}])


# -- shapes documented but not in the recordings above -------------------------------------


def test_anthropic_document_citation_in_a_body() -> None:
    # https://docs.anthropic.com/en/docs/build-with-claude/citations (char_location)
    message = {"type": "message", "id": "msg_1", "model": "claude-sonnet-4-5",
               "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 9},
               "content": [
                   {"type": "text", "text": "According to the report, "},
                   {"type": "text", "text": "the grass is green", "citations": [
                       {"type": "char_location", "cited_text": "The grass is green.",
                        "document_index": 0, "document_title": "Facts",
                        "start_char_index": 0, "end_char_index": 20}]},
                   {"type": "text", "text": "."},
               ]}
    response = fold(anthropic.decode_body(message, "anthropic"))
    (citation,) = response.citations
    assert response.text[citation.start:citation.end] == "the grass is green"
    assert (citation.title, citation.url, citation.source) == ("Facts", None, "char_location")


def test_responses_file_citation_marks_a_position() -> None:
    # https://platform.openai.com/docs/guides/tools-file-search (file_citation: index)
    body = {"object": "response", "id": "resp_1", "status": "completed", "output": [
        {"type": "message", "id": "msg_1", "role": "assistant", "content": [
            {"type": "output_text", "text": "Deep research is useful.", "annotations": [
                {"type": "file_citation", "index": 23, "file_id": "file-1",
                 "filename": "deep_research_blog.pdf"}]}]}]}
    (citation,) = fold(openai_responses.decode_body(body, "x")).citations
    assert (citation.start, citation.end, citation.title) == (23, 23, "deep_research_blog.pdf")


def test_chat_body_with_gateway_reasoning() -> None:
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "4", "reasoning": "2+2=4",
        "reasoning_details": [{"type": "reasoning.text", "text": "2+2=4", "signature": "c2ln",
                               "format": "anthropic-claude-v1", "index": 0}]}}]}
    response = fold(openai_chat.decode_body(body, "openrouter"))
    assert response.thinking == "2+2=4"
    kept = response.provider_data["openai"]
    assert kept["provider"] == "openrouter"
    assert kept["message"]["reasoning_details"][0]["signature"] == "c2ln"
