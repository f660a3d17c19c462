"""Chat: multi-turn history over the fake provider server, for every wire format.

The scripted conversation at the top is the issue's "done when": two tool rounds, an
interrupt, a provider switch and structured output, on each wire format. The tests after
it pin one rule each: when messages enter the history, how an interrupt and a failure
leave it, how dangling tool calls are answered, the run loop, serialisation and usage.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List

import pytest
from helpers import WIRES, fake_client
from pydantic import BaseModel

import streamchat
from streamchat.chat import Chat
from streamchat.history import NOT_RUN_RESULT, sum_usage, with_missing_results
from streamchat.testing.render import render
from streamchat.testing.script import make_script
from streamchat.testing.server import FakeServer
from streamchat.tools import ToolResultEvent, ToolRoundsExceededError
from streamchat.types import Message, ThinkingBlock, ToolCall, Usage

PRICES = {"m": {"input": 1.0, "cached_input": 0.5, "output": 2.0, "context_window": 1000}}


class Weather(BaseModel):
    city: str
    celsius: int


def get_weather(city: str) -> Dict[str, Any]:
    """The weather in a city."""
    return {"city": city, "celsius": 21}


def broken(city: str) -> str:
    raise RuntimeError(f"no sensor in {city}")


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def chat_requests(server: FakeServer) -> List[Any]:
    return [r for r in server.requests if r.wire is not None]


def stall_index(wire: str, marker: bytes, **script: Any) -> int:
    """Stall a few frames after the marker's, inside the call's arguments (Anthropic opens
    them with an empty fragment)."""
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    frames = render(make_script(**script), wire, request, stream=True, model="m", seq=1).frames
    first = next(i for i, frame in enumerate(frames) if marker in frame)
    return first + 4


# -- the scripted conversation ----------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_scripted_conversation_on_every_wire(server, wire):
    client = fake_client(server, wire, prices=PRICES)
    chat = client.chat(system="Be brief.")

    # Two tool rounds: one tool works, one raises; the model then answers.
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
                   usage={"input_tokens": 10, "output_tokens": 4})
    server.enqueue(tool_calls=[{"name": "broken", "arguments": {"city": "Oslo"}}],
                   usage={"input_tokens": 20, "output_tokens": 4})
    server.enqueue(text="Paris is at 21 C; Oslo has no sensor.",
                   usage={"input_tokens": 30, "output_tokens": 8})
    tools = {"get_weather": get_weather, "broken": broken}
    run = chat.run("Weather in Paris and Oslo?", tools=tools)
    events = list(run)
    kinds = [e.type for e in events]
    assert kinds.count("start") == 3
    assert kinds.count("done") == 3
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(r.name, r.is_error) for r in results] == [("get_weather", False), ("broken", True)]
    assert "RuntimeError: no sensor in Oslo" in results[1].result
    assert run.response is not None
    assert run.response.text == "Paris is at 21 C; Oslo has no sensor."
    assert [m.role for m in chat.history] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "assistant"
    ]
    # The tool results reached the provider in its own format.
    third = json.dumps(chat_requests(server)[2].json)
    assert "21" in third and "no sensor in Oslo" in third

    # An interrupt mid-answer keeps the partial text, marked as interrupted.
    server.enqueue(text="one two three four five six seven", chunk_size=4, stall_after=6)
    stream = chat.stream("Count to seven.")
    for event in stream:
        if event.type == "text":
            stream.interrupt()
    assert stream.response is not None and stream.response.finish_reason == "cancelled"
    last = chat.history[-1]
    assert last.role == "assistant" and last.interrupted
    assert last.content and "one two three four five six seven".startswith(last.content)
    assert not chat.in_progress

    # Switch provider, ask for structured output.
    other_wire = "anthropic" if wire != "anthropic" else "gemini"
    chat.use(fake_client(server, other_wire, prices=PRICES))
    if other_wire == "anthropic":
        # Anthropic answers structured output as the input of a forced tool.
        server.enqueue(tool_calls=[{"name": "structured_output_Weather",
                                    "arguments": {"city": "Paris", "celsius": 21}}],
                       usage={"input_tokens": 40, "output_tokens": 6})
    else:
        server.enqueue(text='{"city": "Paris", "celsius": 21}',
                       usage={"input_tokens": 40, "output_tokens": 6})
    response = chat.send("The Paris weather as JSON.", response_format=Weather)
    assert response.parsed == Weather(city="Paris", celsius=21)
    switched = chat_requests(server)[-1]
    assert switched.wire == other_wire
    body = json.dumps(switched.json)
    assert "get_weather" in body and last.content in body  # the whole history went over
    assert chat.history[-1].content == response.text

    usage = chat.usage
    assert usage.input_tokens is not None and usage.input_tokens >= 100
    assert usage.cost_usd is not None and usage.cost_usd > 0
    assert chat.context_used is not None and 0 < chat.context_used < 1


# -- when messages enter the history ------------------------------------------------------


def test_user_message_is_added_when_the_turn_starts_and_the_answer_when_it_ends(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="Hello there, friend.", chunk_size=3)
    stream = chat.stream("hi")
    assert [m.role for m in chat.history] == ["user"]
    assert chat.in_progress
    assert [e.type for e in stream][-1] == "done"
    assert [(m.role, m.content) for m in chat.history] == [
        ("user", "hi"), ("assistant", "Hello there, friend.")
    ]
    assert not chat.in_progress


def test_thinking_blocks_with_signatures_go_back_to_anthropic(server):
    chat = fake_client(server, "anthropic").chat()
    server.enqueue(thinking="Let me think.", tool_calls=[{"name": "get_weather",
                                                          "arguments": {"city": "Rome"}}])
    response = chat.send("Weather in Rome?")
    stored = chat.history[-1]
    assert stored.thinking and stored.thinking[0].signature
    chat.add_tool_result(response.tool_calls[0].id, get_weather("Rome"))
    server.enqueue(text="21 C.")
    chat.send()
    turns = chat_requests(server)[-1].json["messages"]
    assistant = turns[1]["content"]
    assert assistant[0]["type"] == "thinking"
    assert assistant[0]["signature"] == stored.thinking[0].signature
    assert turns[2]["content"][0]["type"] == "tool_result"


# -- interrupts and failures ----------------------------------------------------------------


def test_keep_interrupted_false_removes_the_interrupted_turn(server):
    chat = fake_client(server, "openai").chat(keep_interrupted=False)
    server.enqueue(text="First answer.")
    chat.send("first")
    server.enqueue(text="one two three four five", chunk_size=4, stall_after=4)
    stream = chat.stream("second")
    for event in stream:
        if event.type == "text":
            stream.interrupt()
    assert [m.content for m in chat.history] == ["first", "First answer."]


@pytest.mark.parametrize(
    "wire, marker",
    [("openai", b'"tool_calls"'), ("openai-responses", b'"function_call"'),
     ("anthropic", b'"tool_use"')],
)
def test_interrupt_drops_tool_calls_that_never_completed(server, wire, marker):
    script = dict(text="Checking.", tool_calls=[{"name": "get_weather",
                                                 "arguments": {"city": "Paris"}}], chunk_size=2)
    chat = fake_client(server, wire).chat()
    server.enqueue(stall_after=stall_index(wire, marker, **script), **script)
    stream = chat.stream("Weather?")
    kinds = []
    for event in stream:
        kinds.append(event.type)
        if event.type == "tool_call_delta":
            stream.interrupt()
    assert "tool_call_start" in kinds and "tool_call" not in kinds
    stored = chat.history[-1]
    assert (stored.role, stored.content, stored.tool_calls, stored.interrupted) == (
        "assistant", "Checking.", [], True
    )
    # The next turn is a plain, valid request.
    server.enqueue(text="ok")
    assert chat.send("never mind").text == "ok"


def test_interrupt_before_any_output_adds_no_empty_message(server):
    chat = fake_client(server, "anthropic").chat()
    server.enqueue(text="late", stall_after=0)
    stream = chat.stream("hi")
    stream.interrupt()
    assert [e.type for e in stream][-1] == "cancelled"
    assert [m.role for m in chat.history] == ["user"]


def test_a_failed_turn_keeps_the_user_message_so_send_retries(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(status=400, body={"error": {"message": "bad", "type": "invalid_request_error"}})
    with pytest.raises(streamchat.InvalidRequestError):
        chat.send("hello")
    assert [m.role for m in chat.history] == ["user"]
    assert not chat.in_progress
    server.enqueue(text="Hi!")
    assert chat.send().text == "Hi!"
    assert [m.role for m in chat.history] == ["user", "assistant"]
    retried = chat_requests(server)[-1].json["messages"]
    assert retried == [{"role": "user", "content": "hello"}]


def test_output_that_does_not_validate_is_still_recorded(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="not json at all")
    with pytest.raises(streamchat.OutputValidationError) as info:
        chat.send("json please", response_format=Weather)
    assert info.value.raw_text == "not json at all"
    assert chat.history[-1].content == "not json at all"
    assert not chat.in_progress


# -- one turn at a time ---------------------------------------------------------------------


def test_starting_a_turn_during_another_raises(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="slow answer", stall_after=1)
    stream = chat.stream("first")
    with pytest.raises(streamchat.TurnInProgressError):
        chat.stream("second")
    with pytest.raises(streamchat.TurnInProgressError):
        chat.add_tool_result("call_1", "x")
    stream.close()
    server.enqueue(text="fine")
    assert chat.send("second").text == "fine"


def test_the_turn_check_is_thread_safe(server):
    chat = fake_client(server, "openai").chat()
    for _ in range(8):
        server.enqueue(text="x", stall_after=1)
    barrier = threading.Barrier(8)
    started: List[Any] = []
    refused: List[Exception] = []

    def start() -> None:
        barrier.wait()
        try:
            started.append(chat.stream("go"))
        except streamchat.TurnInProgressError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert (len(started), len(refused)) == (1, 7)
    started[0].close()
    assert not chat.in_progress


def test_a_dropped_stream_frees_the_conversation(server, no_collector):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="never read", stall_after=1)
    sent = len(server.requests)
    stream = chat.stream("first")
    # Dropped once its request has taken the stalling script (dropped sooner, it sends
    # nothing and would leave that script to the next turn), and never read.
    assert server.wait_for_requests(sent + 1)
    del stream
    server.enqueue(text="read")
    assert chat.send("second").text == "read"


def test_chat_interrupt_from_another_thread(server):
    chat = fake_client(server, "gemini").chat()
    server.enqueue(text="a b c d e f g h", chunk_size=2, stall_after=2)
    stream = chat.stream("go")
    first = next(stream)
    assert first.type == "start"
    timer = threading.Timer(0.05, chat.interrupt)
    timer.start()
    kinds = [e.type for e in stream]
    timer.join()
    assert kinds[-1] == "cancelled"
    assert chat.history[-1].interrupted


# -- tool results ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_tool_calls_without_results_are_answered_when_the_next_turn_starts(server, wire):
    chat = fake_client(server, wire).chat()
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                               {"name": "get_weather", "arguments": {"city": "Rome"}}])
    response = chat.send("Weather in Paris and Rome?")
    assert len(response.tool_calls) == 2
    chat.add_tool_result(response.tool_calls[0].id, get_weather("Paris"))
    server.enqueue(text="Something else then.")
    chat.send("Forget it, tell me a joke.")
    roles = [m.role for m in chat.history]
    assert roles == ["user", "assistant", "tool", "tool", "user", "assistant"]
    filler = chat.history[3]
    assert filler.tool_call_id == response.tool_calls[1].id
    assert filler.content == NOT_RUN_RESULT and filler.name == "get_weather"
    assert NOT_RUN_RESULT in json.dumps(chat_requests(server)[-1].json)


def test_add_tool_result_names_the_tool_for_gemini(server):
    chat = fake_client(server, "gemini").chat()
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    call = chat.send("Weather?").tool_calls[0]
    message = chat.add_tool_result(call.id, {"celsius": 21})
    assert (message.name, message.content) == ("get_weather", '{"celsius": 21}')
    server.enqueue(text="21 C")
    assert chat.send().text == "21 C"
    contents = chat_requests(server)[-1].json["contents"]
    assert contents[-1]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"celsius": 21}}}
    ]


def test_add_tool_result_refuses_unknown_and_answered_calls(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    call = chat.send("Weather?").tool_calls[0]
    with pytest.raises(streamchat.ConfigurationError, match="no tool call"):
        chat.add_tool_result("call_nope", "x")
    chat.add_tool_result(call.id, "sunny")
    with pytest.raises(streamchat.ConfigurationError, match="already has a result"):
        chat.add_tool_result(call.id, "rainy")


def test_repeated_call_ids_are_made_unique_for_other_providers(server):
    # Gemini has no call ids: each answer's first call is synthesised as call_0.
    chat = fake_client(server, "gemini").chat()
    ids = []
    for city in ("Paris", "Rome"):
        server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": city}}])
        call = chat.send(f"Weather in {city}?").tool_calls[0]
        ids.append(call.id)
        chat.add_tool_result(call.id, get_weather(city))  # the id the events showed
    assert ids == ["call_0", "call_0"]
    stored = [c.id for m in chat.history for c in m.tool_calls]
    assert stored == ["call_0", "call_0_2"]
    assert [m.tool_call_id for m in chat.history if m.role == "tool"] == stored
    chat.use(fake_client(server, "anthropic"))
    server.enqueue(text="done")
    chat.send("Thanks.")
    blocks = [b for t in chat_requests(server)[-1].json["messages"] for b in t["content"]]
    assert [b["id"] for b in blocks if b["type"] == "tool_use"] == stored
    assert [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"] == stored


@pytest.mark.parametrize("wire", WIRES)
def test_send_without_a_prompt_continues_after_tool_results(server, wire):
    chat = fake_client(server, wire).chat()
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    call = chat.send("Weather?").tool_calls[0]
    chat.add_tool_result(call.id, get_weather(call.arguments["city"]))
    server.enqueue(text="21 C in Paris.")
    assert chat.send().text == "21 C in Paris."
    assert [m.role for m in chat.history] == ["user", "assistant", "tool", "assistant"]
    assert len(chat_requests(server)) == 2


def test_nothing_to_send_is_a_configuration_error(server):
    chat = fake_client(server, "openai").chat(system="hi")
    with pytest.raises(streamchat.ConfigurationError):
        chat.send()


# -- the run loop ---------------------------------------------------------------------------


def test_run_stops_at_the_round_limit(server):
    chat = fake_client(server, "openai").chat()
    for _ in range(2):
        server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    run = chat.run("Weather?", tools=[get_weather], max_rounds=2)
    with pytest.raises(ToolRoundsExceededError) as info:
        list(run)
    assert info.value.partial is not None and info.value.partial.tool_calls
    assert len(chat_requests(server)) == 2
    # The unanswered call of the last round gets a "not run" result on the next turn.
    server.enqueue(text="ok")
    chat.send("Stop.")
    assert chat.history[-3].content == NOT_RUN_RESULT


def test_run_reports_unknown_tools_to_the_model(server):
    chat = fake_client(server, "ollama").chat()
    server.enqueue(tool_calls=[{"name": "launch_rockets", "arguments": {}}])
    server.enqueue(text="I cannot do that.")
    run = chat.run("Launch!", tools={"get_weather": get_weather})
    results = [e for e in run if isinstance(e, ToolResultEvent)]
    assert results[0].is_error and "unknown tool 'launch_rockets'" in results[0].result
    assert run.final().text == "I cannot do that."


def test_run_offers_the_tools_with_their_schema(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="No tools needed.")
    assert chat.run("Hi", tools={"get_weather": get_weather}).final().text == "No tools needed."
    tools = chat_requests(server)[0].json["tools"]
    assert tools[0]["function"]["name"] == "get_weather"
    assert tools[0]["function"]["parameters"]["required"] == ["city"]


def test_run_interrupt_stops_the_loop(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="thinking about tools", chunk_size=3, stall_after=3)
    run = chat.run("Weather?", tools={"get_weather": get_weather})
    kinds = []
    for event in run:
        kinds.append(event.type)
        if event.type == "text":
            run.interrupt()
    assert kinds[-1] == "cancelled"
    assert run.response is not None and run.response.finish_reason == "cancelled"
    assert len(chat_requests(server)) == 1


def test_run_close_before_reading_frees_the_conversation(server):
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="never read", stall_after=1)
    with chat.run("Weather?", tools={"get_weather": get_weather}):
        pass
    assert not chat.in_progress


# -- serialisation, usage ---------------------------------------------------------------------


def test_json_round_trip(server):
    client = fake_client(server, "openai", prices=PRICES)
    chat = client.chat(system="sys")
    server.enqueue(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
                   usage={"input_tokens": 12, "output_tokens": 3})
    call = chat.send("Weather?").tool_calls[0]
    chat.add_tool_result(call.id, {"celsius": 21})
    text = chat.to_json()
    restored = Chat.from_json(text, fake_client(server, "anthropic"))
    assert restored.history == chat.history
    assert restored.system == "sys"
    assert restored.usage == chat.usage
    assert restored.client.provider == "anthropic"
    with pytest.raises(streamchat.ConfigurationError):
        Chat.from_json('{"history": []}', client)


def test_history_round_trips_thinking_and_interrupted_flags(server):
    history = [
        Message.user("hi"),
        Message(role="assistant", content="par", interrupted=True,
                thinking=[ThinkingBlock(text="hm", signature="sig")],
                tool_calls=[ToolCall(id="c1", name="f", arguments={"a": 1},
                                     raw_arguments='{"a":1}', signature="ts")]),
    ]
    chat = Chat(fake_client(server, "openai"), history=history)
    assert Chat.from_json(chat.to_json(), chat.client).history == history


def test_usage_totals_and_context_share(server):
    chat = fake_client(server, "openai", prices=PRICES).chat()
    server.enqueue(text="a", usage={"input_tokens": 100, "output_tokens": 10})
    server.enqueue(text="b", usage={"input_tokens": 300, "output_tokens": 20,
                                    "cached_input_tokens": 100})
    chat.send("one")
    chat.send("two")
    usage = chat.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (400, 30, 100)
    # 100*1 + 10*2, then 200*1 + 100*0.5 + 20*2, per million tokens
    assert usage.cost_usd == pytest.approx((120 + 290) / 1_000_000)
    assert chat.context_used == pytest.approx(320 / 1000)


def test_cost_is_none_when_a_turn_had_no_price(server):
    priced = fake_client(server, "openai", prices=PRICES)
    chat = priced.chat()
    server.enqueue(text="a", usage={"input_tokens": 10, "output_tokens": 1})
    chat.send("one")
    assert chat.usage.cost_usd is not None
    chat.use(fake_client(server, "ollama"))  # model "m" has no price there
    server.enqueue(text="b", usage={"input_tokens": 10, "output_tokens": 1})
    chat.send("two")
    assert chat.usage.cost_usd is None
    assert chat.usage.input_tokens == 20
    assert chat.context_used is None


def test_sum_usage_keeps_unknown_fields_unknown():
    total = sum_usage([Usage(input_tokens=1, output_tokens=2, cost_usd=0.5),
                       Usage(input_tokens=3, cost_usd=0.25)])
    assert total == Usage(input_tokens=4, output_tokens=2, cost_usd=0.75)
    assert sum_usage([]) == Usage()


def test_with_missing_results_places_fillers_after_their_call():
    calls = [ToolCall(id="a", name="f"), ToolCall(id="b", name="g")]
    history = [
        Message.user("q"),
        Message.assistant(tool_calls=calls),
        Message.tool("b", "done", name="g"),
        Message.user("next"),
    ]
    repaired = with_missing_results(history)
    assert [(m.role, m.tool_call_id, m.content) for m in repaired] == [
        ("user", None, "q"),
        ("assistant", None, ""),
        ("tool", "b", "done"),
        ("tool", "a", NOT_RUN_RESULT),
        ("user", None, "next"),
    ]
    assert with_missing_results(repaired) == repaired


def test_the_model_belongs_to_the_client(server):
    with pytest.raises(streamchat.ConfigurationError):
        fake_client(server, "openai").chat(model="other")
    chat = fake_client(server, "openai").chat()
    server.enqueue(text="ok")
    chat.send("hi", model="per-turn")
    assert chat_requests(server)[-1].json["model"] == "per-turn"


@pytest.mark.parametrize(("raw", "problem"), [
    ('{"city": "Par', "not valid JSON"),
    ("{'city': 'Paris'}", "not valid JSON"),
    ('["Paris"]', "not a JSON object"),
])
def test_run_tells_the_model_its_arguments_were_not_json_and_calls_nothing(server, raw, problem):
    called = []

    def weather(city: str = "nowhere") -> str:
        called.append(city)
        return "sunny"

    chat = fake_client(server, "openai").chat()
    server.enqueue(tool_calls=[{"name": "weather", "arguments": raw, "id": "call_1"}])
    server.enqueue(text="Let me try again.")
    run = chat.run("Weather in Paris?", tools={"weather": weather})
    results = [e for e in run if isinstance(e, ToolResultEvent)]
    assert called == []
    assert len(results) == 1 and results[0].is_error
    assert problem in results[0].result
    assert "missing" not in results[0].result
    sent = chat_requests(server)[1].json["messages"]
    tool_message = next(m for m in sent if m["role"] == "tool")
    assert tool_message["tool_call_id"] == "call_1"
    assert problem in tool_message["content"]
    if problem == "not valid JSON":
        try:
            json.loads(raw)
        except ValueError as exc:
            assert str(exc) in tool_message["content"]  # the parse error itself
    assert run.final().text == "Let me try again."
