"""`Chat.run`'s tool loop: answer, run the tools the model asked for, send their results,
and go again until the model answers without a call. Kept apart from `Chat`, which it
drives only through the two verbs of `Conversation`, so the loop can be read (and
changed) without the history rules."""

from __future__ import annotations

import json
import threading
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Union,
)

from pydantic import BaseModel, ConfigDict

from .errors import ConfigurationError, StreamChatError
from .stream import Stream
from .types import BUILTIN_TOOLS, BuiltinTool, ChatResponse, Event, Message, Prompt, Tool, ToolCall

ToolFunctions = Union[
    Mapping[str, Callable[..., Any]], Sequence[Union[Callable[..., Any], BuiltinTool]]
]
"""Tools to run: a mapping of names to functions, or functions named by their __name__
(built-in tools such as WebSearch() may be among them: the provider runs those)."""


class Conversation(Protocol):
    """What the loop needs of a conversation (a `streamchat.Chat` is one)."""

    def stream(self, prompt: Optional[Prompt] = None, **options: Any) -> Stream: ...

    def add_tool_result(self, call_id: str, result: Any) -> Message: ...


class ToolRoundsExceededError(StreamChatError):
    """`Chat.run` reached `max_rounds` while the model still asked for tools."""


class ToolResultEvent(BaseModel):
    """A tool `Chat.run` executed, and what it returned (only `Chat.run` yields these)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["tool_result"] = "tool_result"
    id: str
    """The call's id, as the model's `tool_call` event gave it."""
    name: str
    result: str
    """The result as sent to the model (JSON text for anything but a string or parts; the
    text parts' text for a result made of parts)."""
    is_error: bool = False
    """True when the tool raised, or the model asked for a tool that does not exist."""


class Run:
    """The events of a `Chat.run` loop, round after round; iterate it once.

    `response` is the final answer once the loop has ended, `responses` every round's
    answer; `interrupt()` (any thread) stops the round in progress and the loop.
    """

    def __init__(
        self,
        chat: Conversation,
        prompt: Optional[Prompt],
        functions: Dict[str, Callable[..., Any]],
        specs: List[Union[Tool, BuiltinTool]],
        max_rounds: int,
        options: Dict[str, Any],
    ) -> None:
        if max_rounds < 1:
            raise ConfigurationError(f"max_rounds must be at least 1, not {max_rounds}")
        self.chat = chat
        # The loop's state is apart from the Run, and only the generator holds it: a Run
        # dropped in the middle of a loop (a break without `with`) is freed at once by
        # reference counting, which closes the round in progress and frees the Chat.
        self._loop = _Loop(chat, functions, max_rounds, {**options, "tools": specs}, prompt)
        self._events = self._loop.events()
        self.responses: List[ChatResponse] = self._loop.responses

    @property
    def response(self) -> Optional[ChatResponse]:
        """The last answer, once the loop has ended."""
        return self.responses[-1] if self.responses and self._loop.done else None

    def __iter__(self) -> Iterator[Union[Event, ToolResultEvent]]:
        return self

    def __next__(self) -> Union[Event, ToolResultEvent]:
        return next(self._events)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def final(self) -> ChatResponse:
        """Run the loop to its end and return the final answer."""
        for _ in self:
            pass
        return self.responses[-1]

    def interrupt(self) -> None:
        """Stop from any thread: the round in progress ends as cancelled, no tool runs after."""
        self._loop.stop.set()
        self._loop.stream.interrupt()

    def close(self) -> None:
        """Stop the loop and the round in progress; the history keeps what arrived."""
        self._loop.stop.set()
        self._loop.stream.close()
        self._events.close()


class _Loop:
    """The rounds of one `Run`: what its generator reads and writes."""

    def __init__(
        self,
        chat: Conversation,
        functions: Dict[str, Callable[..., Any]],
        max_rounds: int,
        options: Dict[str, Any],
        prompt: Optional[Prompt],
    ) -> None:
        self.chat = chat
        self.functions = functions
        self.max_rounds = max_rounds
        self.options = options
        self.responses: List[ChatResponse] = []
        self.stop = threading.Event()
        self.done = False
        # The first round starts at once, so a turn in progress is reported here.
        self.stream: Stream = chat.stream(prompt, **options)

    def events(self) -> Generator[Union[Event, ToolResultEvent], None, None]:
        rounds = 0
        while True:
            rounds += 1
            if rounds > 1:
                self.stream = self.chat.stream(None, **self.options)
            stream = self.stream
            try:
                yield from stream
            finally:
                # Left early (a break, close()): end the turn so the Chat is free. A
                # stream that has ended already ignores close().
                stream.close()
            response = stream.final()
            self.responses.append(response)
            if response.provider_finish_reason == "pause_turn" and rounds < self.max_rounds:
                # NOTE: Anthropic paused a long server tool turn; the answer so far, sent
                # back as the last message, is what continues it.
                continue
            if response.finish_reason in ("cancelled", "paused") or not response.tool_calls:
                self.done = True
                return
            if rounds >= self.max_rounds:
                self.done = True
                raise ToolRoundsExceededError(
                    f"the model still asked for tools after {rounds} rounds; raise "
                    "max_rounds, or answer the calls with add_tool_result() and send()",
                    provider=response.provider,
                    partial=response,
                )
            for call in response.tool_calls:
                if self.stop.is_set():
                    break
                result, failed = execute(self.functions, call)
                message = self.chat.add_tool_result(call.id, result)
                yield ToolResultEvent(
                    id=call.id, name=call.name, result=message.text, is_error=failed
                )
            if self.stop.is_set():
                self.done = True
                return


def functions_by_name(tools: ToolFunctions) -> Dict[str, Callable[..., Any]]:
    if isinstance(tools, Mapping):
        functions = dict(tools)
    else:
        functions = {
            getattr(f, "__name__", repr(f)): f for f in tools if not isinstance(f, BUILTIN_TOOLS)
        }
    for name, function in functions.items():
        if not callable(function):
            raise ConfigurationError(f"tool {name!r} is not callable: {function!r}")
    return functions


def execute(functions: Mapping[str, Callable[..., Any]], call: ToolCall) -> Tuple[Any, bool]:
    """Call the tool; a failure becomes an error result the model can read and act on."""
    function = functions.get(call.name)
    if function is None:
        known = ", ".join(sorted(functions)) or "none"
        return {"error": f"unknown tool {call.name!r}; the tools are: {known}"}, True
    problem = argument_problem(call.raw_arguments)
    if problem is not None:
        # Running the function with no arguments would tell the model about a missing
        # argument, sending it after the wrong fix; it is told what was wrong instead.
        return {"error": f"the arguments of {call.name!r} were {problem}; call it again "
                         "with a JSON object of its parameters"}, True
    try:
        return function(**call.arguments), False
    except Exception as exc:  # the model is told, and the loop goes on
        return {"error": f"{type(exc).__name__}: {exc}"}, True


def argument_problem(raw: str) -> Optional[str]:
    """What is wrong with a call's raw arguments (None: a JSON object, or nothing)."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__} {raw[:80]}"
    return None


__all__ = [
    "Conversation",
    "Run",
    "ToolFunctions",
    "ToolResultEvent",
    "ToolRoundsExceededError",
    "execute",
    "functions_by_name",
]
