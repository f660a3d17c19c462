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
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from pydantic import BaseModel

from .errors import ConfigurationError, TurnInProgressError
from .history import find_call, sum_usage, unique_ids, with_missing_results
from .pricing import context_window
from .stream import Stream
from .tools import Run, ToolFunctions, functions_by_name
from .types import BUILTIN_TOOLS, ChatResponse, Message, Prompt, Tool, Usage, to_messages

Model = TypeVar("Model", bound=BaseModel)
"""A response_format model class: `parsed` is typed as its instance."""

FORMAT = "streamchat.chat/1"
"""Marks the JSON written by `Chat.to_json`."""


class ClientLike(Protocol):
    """What a Chat needs of its client (a `streamchat.Client` is one). A protocol rather
    than the class, so that the client can offer `Client.chat()` without the two modules
    importing each other."""

    provider: str
    model: str
    prices: Any

    def stream(
        self,
        prompt: Optional[Prompt] = None,
        *,
        on_end: Optional[Callable[[Stream], None]] = None,
        **options: Any,
    ) -> Stream: ...


class Chat:
    """A multi-turn conversation over a Client; see the module docstring for the rules.

    One turn streams at a time: starting another raises TurnInProgressError. The Chat
    may be shared between threads; its history is only changed under its lock.
    """

    def __init__(
        self,
        client: ClientLike,
        system: Optional[str] = None,
        *,
        history: Sequence[Message] = (),
        keep_interrupted: bool = True,
        chain: bool = False,
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
        self.chain = chain
        """Send each turn as what is new plus the last answer's previous_response_id
        (Responses API), rather than the whole history; the history is still kept whole."""
        self._held: Optional[Tuple[str, int]] = None
        """The last answer's id and how many messages the server holds under it."""
        if chain:
            _check_chain(client, self.options)

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
        return first.text if first is not None and first.role == "system" else None

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

    def use(self, client: ClientLike) -> Chat:
        """Continue the conversation on another client (provider or model) from the next turn."""
        self.client = client
        self._held = None  # another account or provider holds none of it
        if self.chain:
            _check_chain(client, self.options)
        return self

    def interrupt(self) -> None:
        """Interrupt the turn in progress, if any; safe from any thread."""
        with self._lock:
            stream = self._turn() if self._turn is not None else None
        if stream is not None:
            stream.interrupt()

    # -- turns ----------------------------------------------------------------------------

    # The overloads only tell type checkers that a response_format model types `parsed`.
    @overload
    def stream(
        self, prompt: Optional[Prompt] = None, *, response_format: Type[Model], **options: Any
    ) -> Stream[Model]: ...

    @overload
    def stream(self, prompt: Optional[Prompt] = None, **options: Any) -> Stream: ...

    def stream(self, prompt: Optional[Prompt] = None, **options: Any) -> Stream:
        """Start a turn and return its Stream (iterate it as `client.stream`'s).

        `prompt` is a string (a user message), a Message, or a list of them; with no
        prompt the conversation continues from its history, as after tool results.
        Options override the Chat's own for this turn.
        """
        added = to_messages(prompt)
        with self._lock:
            self._check_idle()
            if not added and not any(m.role != "system" for m in self._history):
                raise ConfigurationError("nothing to send: the conversation is empty")
            repaired = with_missing_results(self._history)
            messages = repaired + added
            merged = {**self.options, **options}
            if self.chain and self._held is not None and "previous_response_id" not in merged:
                # The server holds the turns up to its last answer: send only the rest.
                merged["previous_response_id"], merged["chained_messages"] = self._held
            # The history changes only once the request was accepted, so a call that
            # raises (a bad option) leaves the conversation as it was.
            stream = self.client.stream(messages, on_end=self._turn_ended, **merged)
            self._history = messages
            self._turn_start = len(repaired)
            self._turn = weakref.ref(stream)
        return stream

    @overload
    def send(
        self, prompt: Optional[Prompt] = None, *, response_format: Type[Model], **options: Any
    ) -> ChatResponse[Model]: ...

    @overload
    def send(self, prompt: Optional[Prompt] = None, **options: Any) -> ChatResponse: ...

    def send(self, prompt: Optional[Prompt] = None, **options: Any) -> ChatResponse:
        """Run a turn to its end and return the ChatResponse (interrupted or not)."""
        return self.stream(prompt, **options).final()

    def display(self, prompt: Optional[Prompt] = None, **options: Any) -> None:
        """Run a turn rendered live in a Jupyter cell (see `Stream.display`); the answer
        joins the history as `send`'s does, a partial one if the kernel was interrupted."""
        self.stream(prompt, **options).display()

    def add_tool_result(self, call_id: str, result: Any) -> Message:
        """Answer a tool call of the last answer; `result` is a string or anything JSON can
        encode. The tool's name is taken from the call (Gemini and Ollama match by name)."""
        with self._lock:
            self._check_idle()
            call_id = self._aliases.get(call_id, call_id)
            call, answered = find_call(self._history, call_id)
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
        functions = functions_by_name(tools)
        specs: List[Any] = [Tool.from_function(f, name=name) for name, f in functions.items()]
        if not isinstance(tools, Mapping):
            specs.extend(t for t in tools if isinstance(t, BUILTIN_TOOLS))
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
    def from_json(cls, text: Union[str, bytes], client: ClientLike, **options: Any) -> Chat:
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
        # Only a finished answer is a turn the server holds whole: after an interrupt or a
        # failure, the next turn resends the history.
        self._held = None
        if reason is None:
            # Failed mid-answer: nothing complete to keep. The user message stays, so
            # `send()` with no prompt asks again.
            return
        if reason in ("cancelled", "paused") and not self.keep_interrupted:
            del self._history[self._turn_start:]
            return
        message = response.to_message()
        if not (message.content or message.tool_calls or message.thinking or message.provider_data):
            return
        message.tool_calls, self._aliases = unique_ids(self._history, message.tool_calls)
        self._history.append(message)
        if self.chain and response.response_id and reason not in ("cancelled", "paused"):
            self._held = (response.response_id, len(self._history))


def _check_chain(client: ClientLike, options: Mapping[str, Any]) -> None:
    if getattr(client, "wire_id", None) != "openai-responses":
        raise ConfigurationError(
            f"chain=True needs the Responses API (openai-responses, azure-responses), whose "
            f"server keeps the conversation; {client.provider} is sent the whole history",
            provider=client.provider,
        )
    if options.get("store") is False:
        raise ConfigurationError(
            "chain=True needs stored responses: leave store unset or True",
            provider=client.provider,
        )


__all__ = ["Chat", "ClientLike"]
