"""`Chat`: a conversation that keeps its history consistent whatever happens to a turn.

The history is a list of neutral `Message`s, so every adapter can translate it and a
conversation can move to another provider between turns. The hard part is keeping that
history acceptable to every provider after the unexpected:

* A turn starts by adding the user's message; it ends (in the Stream's `on_end`
  callback, so also on interrupt and failure) by adding the assistant's message.
* An interrupted turn keeps its partial text, marked `interrupted=True`; tool calls that
  never completed are not in it, because only complete calls reach a ChatResponse.
  With `keep_interrupted=False` the interrupted turn is removed as if never asked.
* Every provider rejects an assistant tool call that has no result after it. So when a
  turn starts, each call still without a result gets one saying it was not run.
* Providers that have no call ids (Gemini) get synthesised ids that repeat from one
  answer to the next, which others (Anthropic) reject; a repeated id is renamed when the
  assistant message is stored, and the old id stays usable for `add_tool_result`.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from pydantic import BaseModel, ConfigDict

from .errors import ConfigurationError, StreamChatError, TurnInProgressError
from .pricing import context_window
from .types import ChatResponse, Event, Message, Tool, ToolCall, Usage

if TYPE_CHECKING:
    from .client import Client, Prompt
    from .worker import Stream

NOT_RUN_RESULT = (
    "This tool call was not run: the conversation moved on before a result was given."
)
"""The tool result added for a call that has none when the next turn starts."""

FORMAT = "streamchat.chat/1"
"""Marks the JSON written by `Chat.to_json`."""

ToolFunctions = Union[Mapping[str, Callable[..., Any]], Sequence[Callable[..., Any]]]


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
    """The result as sent to the model (JSON text for anything but a string)."""
    is_error: bool = False
    """True when the tool raised, or the model asked for a tool that does not exist."""


class Chat:
    """A multi-turn conversation over a Client; see the module docstring for the rules.

    One turn streams at a time: starting another raises TurnInProgressError. The Chat
    may be shared between threads; its history is only changed under its lock.
    """

    def __init__(
        self,
        client: Client,
        system: Optional[str] = None,
        *,
        history: Sequence[Message] = (),
        keep_interrupted: bool = True,
        **options: Any,
    ) -> None:
        if "model" in options:
            # The model belongs to the client, so that `use(other_client)` switches it too.
            raise ConfigurationError(
                "a Chat takes its model from its client: pass Client(..., model=...), or "
                "model=... to one turn"
            )
        self.client = client
        self.keep_interrupted = keep_interrupted
        self.options: Dict[str, Any] = dict(options)
        """Request options for every turn (tools, response_format, max_tokens, ...)."""
        self._lock = threading.Lock()
        self._history: List[Message] = [Message.system(system)] if system else []
        self._history.extend(history)
        self._usages: List[Usage] = []
        self._turn: Optional[weakref.ReferenceType[Stream]] = None
        self._turn_start = 0
        self._aliases: Dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Chat {self.client.provider}:{self.client.model} {len(self._history)} messages>"

    # -- state --------------------------------------------------------------------------

    @property
    def history(self) -> List[Message]:
        """A copy of the conversation so far, system message first if there is one."""
        with self._lock:
            return list(self._history)

    @property
    def system(self) -> Optional[str]:
        with self._lock:
            first = self._history[0] if self._history else None
        return first.content if first is not None and first.role == "system" else None

    @property
    def in_progress(self) -> bool:
        """True while a turn is streaming."""
        with self._lock:
            return self._busy()

    @property
    def usage(self) -> Usage:
        """Token counts summed over every turn; cost_usd is None unless every turn that
        reported usage was priced (an unknown price is never guessed)."""
        with self._lock:
            usages = list(self._usages)
        return sum_usage(usages)

    @property
    def context_used(self) -> Optional[float]:
        """Share (0..1) of the current model's context window taken by the conversation,
        from the last reported usage (prompt plus answer); None when either is unknown.
        After a provider switch it is an estimate: tokenizers differ."""
        with self._lock:
            usage = self._usages[-1] if self._usages else None
        if usage is None:
            return None
        tokens = usage.total_tokens
        if tokens is None:
            tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
        window = context_window(self.client.provider, self.client.model, self.client.prices)
        if not window or not tokens:
            return None
        return tokens / window

    def use(self, client: Client) -> Chat:
        """Continue the conversation on another client (provider or model) from the next turn."""
        self.client = client
        return self

    def interrupt(self) -> None:
        """Interrupt the turn in progress, if any; safe from any thread."""
        with self._lock:
            stream = self._turn() if self._turn is not None else None
        if stream is not None:
            stream.interrupt()

    # -- turns ----------------------------------------------------------------------------

    def stream(self, prompt: Optional[Prompt] = None, **options: Any) -> Stream:
        """Start a turn and return its Stream (iterate it as `client.stream`'s).

        `prompt` is a string (a user message), a Message, or a list of them; with no
        prompt the conversation continues from its history, as after tool results.
        Options override the Chat's own for this turn.
        """
        from .client import to_messages

        added = to_messages(prompt)
        with self._lock:
            self._check_idle()
            if not added and not any(m.role != "system" for m in self._history):
                raise ConfigurationError("nothing to send: the conversation is empty")
            repaired = with_missing_results(self._history)
            messages = repaired + added
            merged = {**self.options, **options}
            # The history changes only once the request was accepted, so a call that
            # raises (a bad option) leaves the conversation as it was.
            stream = self.client.stream(messages, on_end=self._turn_ended, **merged)
            self._history = messages
            self._turn_start = len(repaired)
            self._turn = weakref.ref(stream)
        return stream

    def send(self, prompt: Optional[Prompt] = None, **options: Any) -> ChatResponse:
        """Run a turn to its end and return the ChatResponse (interrupted or not)."""
        return self.stream(prompt, **options).final()

    def add_tool_result(self, call_id: str, result: Any) -> Message:
        """Answer a tool call of the last answer; `result` is a string or anything JSON can
        encode. The tool's name is taken from the call (Gemini and Ollama match by name)."""
        with self._lock:
            self._check_idle()
            call_id = self._aliases.get(call_id, call_id)
            call, answered = _find_call(self._history, call_id)
            if call is None:
                raise ConfigurationError(
                    f"no tool call with id {call_id!r} in this conversation; use the id "
                    "of a tool_call event or of response.tool_calls"
                )
            if answered:
                raise ConfigurationError(f"tool call {call_id!r} already has a result")
            message = Message.tool(call_id, result, name=call.name)
            self._history.append(message)
            return message

    def run(
        self,
        prompt: Optional[Prompt] = None,
        *,
        tools: ToolFunctions,
        max_rounds: int = 8,
        **options: Any,
    ) -> Run:
        """Answer, executing the tools the model asks for, until it answers without one.

        Returns a `Run`: iterate it for every event of every round plus a
        `ToolResultEvent` per executed call. A tool that raises sends the model an error
        result instead. Raises ToolRoundsExceededError when the `max_rounds`-th answer
        still asks for tools (those calls are not run).
        """
        functions = _functions(tools)
        specs = [Tool.from_function(f, name=name) for name, f in functions.items()]
        return Run(self, prompt, functions, specs, max_rounds, options)

    # -- serialisation ---------------------------------------------------------------

    def to_json(self, indent: Optional[int] = None) -> str:
        """The conversation as JSON text: history and usage (not the client or options)."""
        with self._lock:
            data = {
                "format": FORMAT,
                "provider": self.client.provider,
                "model": self.client.model,
                "keep_interrupted": self.keep_interrupted,
                "history": [
                    m.model_dump(mode="json", exclude_defaults=True) for m in self._history
                ],
                "usage": [u.model_dump(mode="json", exclude_none=True) for u in self._usages],
            }
        return json.dumps(data, indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: Union[str, bytes], client: Client, **options: Any) -> Chat:
        """Rebuild a conversation saved by `to_json`, on any client."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigurationError(f"not a conversation saved by Chat.to_json ({FORMAT})")
        options.setdefault("keep_interrupted", bool(data.get("keep_interrupted", True)))
        chat = cls(
            client,
            history=[Message.model_validate(m) for m in data.get("history") or ()],
            **options,
        )
        chat._usages = [Usage.model_validate(u) for u in data.get("usage") or ()]
        return chat

    # -- internals ------------------------------------------------------------------------

    def _busy(self) -> bool:
        if self._turn is None:
            return False
        if self._turn() is None:
            # The Stream was dropped without being read to its end, so on_end never ran:
            # nothing of that answer is known, and the turn is over.
            self._turn = None
            return False
        return True

    def _check_idle(self) -> None:
        if self._busy():
            raise TurnInProgressError(
                "a turn of this conversation is still streaming: read it to its end, "
                "interrupt() it or close() it before starting another",
                provider=self.client.provider,
            )

    def _turn_ended(self, stream: Stream) -> None:
        """on_end of a turn's Stream: store the answer, count usage, free the Chat."""
        response = stream.response
        error = stream.error
        if response is None and error is not None:
            response = error.partial
        with self._lock:
            try:
                if response is not None:
                    self._store(response)
            finally:
                self._turn = None

    def _store(self, response: ChatResponse) -> None:
        if response.usage is not None:
            self._usages.append(response.usage)
        self._aliases = {}
        reason = response.finish_reason
        if reason is None:
            # Failed mid-answer: nothing complete to keep. The user message stays, so
            # `send()` with no prompt asks again.
            return
        if reason in ("cancelled", "paused") and not self.keep_interrupted:
            del self._history[self._turn_start:]
            return
        message = response.to_message()
        if not (message.content or message.tool_calls or message.thinking):
            return
        message.tool_calls, self._aliases = _unique_ids(self._history, message.tool_calls)
        self._history.append(message)


class Run:
    """The events of a `Chat.run` loop, round after round; iterate it once.

    `response` is the final answer once the loop has ended, `responses` every round's
    answer; `interrupt()` (any thread) stops the round in progress and the loop.
    """

    def __init__(
        self,
        chat: Chat,
        prompt: Optional[Prompt],
        functions: Dict[str, Callable[..., Any]],
        specs: List[Tool],
        max_rounds: int,
        options: Dict[str, Any],
    ) -> None:
        if max_rounds < 1:
            raise ConfigurationError(f"max_rounds must be at least 1, not {max_rounds}")
        self.chat = chat
        self.responses: List[ChatResponse] = []
        self._functions = functions
        self._max_rounds = max_rounds
        self._options = {**options, "tools": specs}
        self._stop = threading.Event()
        self._done = False
        # The first round starts at once, so a turn in progress is reported here.
        self._stream: Stream = chat.stream(prompt, **self._options)
        self._events = self._generate()

    @property
    def response(self) -> Optional[ChatResponse]:
        """The last answer, once the loop has ended."""
        return self.responses[-1] if self.responses and self._done else None

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
        self._stop.set()
        self._stream.interrupt()

    def close(self) -> None:
        """Stop the loop and the round in progress; the history keeps what arrived."""
        self._stop.set()
        self._stream.close()
        self._events.close()

    def _generate(self) -> Generator[Union[Event, ToolResultEvent], None, None]:
        rounds = 0
        while True:
            rounds += 1
            if rounds > 1:
                self._stream = self.chat.stream(None, **self._options)
            stream = self._stream
            try:
                yield from stream
            finally:
                # Left early (a break, close()): end the turn so the Chat is free. A
                # stream that has ended already ignores close().
                stream.close()
            response = stream.final()
            self.responses.append(response)
            if response.finish_reason in ("cancelled", "paused") or not response.tool_calls:
                self._done = True
                return
            if rounds >= self._max_rounds:
                self._done = True
                raise ToolRoundsExceededError(
                    f"the model still asked for tools after {rounds} rounds; raise "
                    "max_rounds, or answer the calls with add_tool_result() and send()",
                    provider=response.provider,
                    partial=response,
                )
            for call in response.tool_calls:
                if self._stop.is_set():
                    break
                result, failed = _execute(self._functions, call)
                message = self.chat.add_tool_result(call.id, result)
                yield ToolResultEvent(
                    id=call.id, name=call.name, result=message.content, is_error=failed
                )
            if self._stop.is_set():
                self._done = True
                return


# -- pure helpers -------------------------------------------------------------------------


def with_missing_results(history: Sequence[Message]) -> List[Message]:
    """The history with a "not run" result after every tool call that has none.

    Results belong right after their assistant message (and its other results), which is
    where every provider looks for them.
    """
    out: List[Message] = []
    pending: List[ToolCall] = []
    answered: Set[str] = set()

    def close_pending() -> None:
        for call in pending:
            if call.id not in answered:
                out.append(Message.tool(call.id, NOT_RUN_RESULT, name=call.name))
        pending.clear()
        answered.clear()

    for message in history:
        if message.role == "tool":
            answered.add(message.tool_call_id or "")
        else:
            close_pending()
        out.append(message)
        if message.role == "assistant" and message.tool_calls:
            pending.extend(message.tool_calls)
    close_pending()
    return out


def sum_usage(usages: Sequence[Usage]) -> Usage:
    """Add usages field by field; a field no usage reported stays None, and cost_usd is
    None as soon as one usage has counts but no cost."""
    totals: Dict[str, Optional[int]] = {}
    for name in ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens",
                 "reasoning_tokens"):
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        totals[name] = sum(values) if values else None
    costs = [u.cost_usd for u in usages]
    cost: Optional[float] = None
    if usages and all(c is not None for c in costs):
        cost = round(sum(c for c in costs if c is not None), 8)
    return Usage(**totals, cost_usd=cost)


def _find_call(history: Sequence[Message], call_id: str) -> Tuple[Optional[ToolCall], bool]:
    """The most recent call with that id, and whether a result already follows it."""
    answered = False
    for message in reversed(history):
        if message.role == "tool" and message.tool_call_id == call_id:
            answered = True
        for call in message.tool_calls:
            if call.id == call_id:
                return call, answered
    return None, False


def _unique_ids(
    history: Sequence[Message], calls: List[ToolCall]
) -> Tuple[List[ToolCall], Dict[str, str]]:
    """Rename calls whose id the history already uses; returns the calls and old->new."""
    used = {c.id for m in history for c in m.tool_calls}
    used.update(m.tool_call_id for m in history if m.tool_call_id)
    renamed: Dict[str, str] = {}
    out: List[ToolCall] = []
    for call in calls:
        new_id = call.id
        suffix = 2
        while new_id in used:
            new_id = f"{call.id}_{suffix}"
            suffix += 1
        used.add(new_id)
        if new_id != call.id:
            renamed[call.id] = new_id
            call = call.model_copy(update={"id": new_id})
        out.append(call)
    return out, renamed


def _functions(tools: ToolFunctions) -> Dict[str, Callable[..., Any]]:
    if isinstance(tools, Mapping):
        functions = dict(tools)
    else:
        functions = {getattr(f, "__name__", repr(f)): f for f in tools}
    for name, function in functions.items():
        if not callable(function):
            raise ConfigurationError(f"tool {name!r} is not callable: {function!r}")
    return functions


def _execute(functions: Mapping[str, Callable[..., Any]], call: ToolCall) -> Tuple[Any, bool]:
    """Call the tool; a failure becomes an error result the model can read and act on."""
    function = functions.get(call.name)
    if function is None:
        known = ", ".join(sorted(functions)) or "none"
        return {"error": f"unknown tool {call.name!r}; the tools are: {known}"}, True
    try:
        return function(**call.arguments), False
    except Exception as exc:  # the model is told, and the loop goes on
        return {"error": f"{type(exc).__name__}: {exc}"}, True


__all__ = [
    "NOT_RUN_RESULT",
    "Chat",
    "Run",
    "ToolResultEvent",
    "ToolRoundsExceededError",
    "sum_usage",
    "with_missing_results",
]
