"""`Client`: the facade most users touch. It resolves a provider into a Target (preset,
key, base URL, adapter) once, then turns each call into a neutral ChatRequest and starts
a Stream. A Client may be shared by many threads; each stream has its own worker."""

from __future__ import annotations

from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from pydantic import BaseModel
from typing_extensions import Unpack

from .catalog import ModelList, count_tokens, list_models
from .chat import Chat
from .credentials import TokenProvider
from .endpoints import resolve_endpoint
from .errors import ConfigurationError, StreamChatError
from .observe import Observing, OnRequest, OnResponse
from .options import RetryPolicy, Timeouts
from .providers import Preset, get_preset, wire_format
from .ratelimit import SharedLimits, limit_key
from .request_options import (
    CONTROL_NAMES,
    Controls,
    check_controls,
    check_headers,
    merge_controls,
    without_credentials,
)
from .stream import Stream, start_stream
from .structured import FormatSpec, attach_parsed, to_response_format
from .target import Target
from .transport import Transport
from .types import (
    BUILTIN_TOOLS,
    BuiltinTool,
    ChatRequest,
    ChatResponse,
    Message,
    Prompt,
    Tool,
    Usage,
    to_messages,
)
from .wire.common import Endpoint
from .wire.openai_models import is_responses_only_model

if TYPE_CHECKING:
    import threading

ToolSpec = Union[Tool, BuiltinTool, Type[BaseModel], Callable[..., Any], Mapping[str, Any]]
Model = TypeVar("Model", bound=BaseModel)
"""A response_format model class: `parsed` is typed as its instance."""


def split_provider(spec: str, model: Optional[str]) -> Tuple[str, Optional[str]]:
    """"groq:llama-3.3-70b" -> ("groq", "llama-3.3-70b"); an explicit model wins."""
    name, sep, rest = spec.partition(":")
    return name.strip(), (model or (rest.strip() if sep else None))


def to_tool(spec: ToolSpec) -> Tool:
    if isinstance(spec, Tool):
        return spec
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return Tool.from_model(spec)
    if isinstance(spec, Mapping):
        return Tool.model_validate(spec)
    if callable(spec):
        return Tool.from_function(spec)
    raise ConfigurationError(
        f"cannot make a tool of {spec!r}: pass a Tool, a model, a function or a built-in "
        "tool (WebSearch, CodeExecution, UrlContext)"
    )


class Client:
    """A configured provider (plus fallbacks), shareable between threads."""

    def __init__(
        self,
        provider: str,
        model: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        fallbacks: Iterable[Union[str, Client]] = (),
        fallback_on: Tuple[Type[StreamChatError], ...] = (),
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = True,
        verify: bool = True,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        thinking: Union[bool, int, str, None] = None,
        prices: Optional[Any] = None,
        max_frame_bytes: Optional[int] = None,
        max_connections: int = 32,
        query: Optional[Mapping[str, str]] = None,
        api_version: Optional[str] = None,
        token_provider: Optional[TokenProvider] = None,
        azure_ad_token_provider: Optional[TokenProvider] = None,
        project: Optional[str] = None,
        location: Optional[str] = None,
        on_request: Optional[OnRequest] = None,
        on_response: Optional[OnResponse] = None,
        tracing: Optional[bool] = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        _defer_configuration_errors: bool = False,
        **controls: Unpack[Controls],
    ) -> None:
        """See docs/providers.rst for `api_version`, the token providers, `project` and
        `location` (Azure and Vertex), docs/request-options.rst for `query` and the
        controls (stop, top_p, top_k, seed, ..., given here as defaults for every call)."""
        name, model = split_provider(provider, model)
        self._fallback_specs = list(fallbacks)
        self.preset: Preset = get_preset(name)
        self.provider = name
        if name == "fake" and base_url is None:
            from .testing.server import shared_server

            base_url = shared_server().base_url(self.preset.wire)
        self.wire_id = self.preset.wire
        self.model = model or self.preset.default_model or ""
        if not self.model:
            raise ConfigurationError(
                f"provider {name!r} has no default model: pass model=... or '{name}:MODEL'",
                provider=name,
            )
        if name == "openai" and is_responses_only_model(self.model):
            # NOTE: the codex and pro families answer only on the Responses API.
            self.wire_id = "openai-responses"
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.fallback_on = fallback_on
        self.stream_mode = stream
        self.defaults: Dict[str, Any] = {
            "max_tokens": max_tokens, "temperature": temperature, "thinking": thinking,
            **check_controls(controls, "Client"),
        }
        self.prices = prices
        self.max_frame_bytes = max_frame_bytes
        self._transport = Transport(verify=verify, pool_maxsize=max_connections)
        self.observing = Observing(on_request, on_response, tracing, tracer_provider,
                                   meter_provider)
        self._limits = SharedLimits()
        self._limit_key = limit_key(name, None)
        self._config_error: Optional[ConfigurationError] = None
        self._endpoint: Optional[Endpoint] = None
        try:
            self._endpoint = resolve_endpoint(
                self.preset,
                api_key=api_key,
                base_url=base_url,
                headers=headers,
                query=query,
                api_version=api_version,
                token_provider=token_provider or azure_ad_token_provider,
                project=project,
                location=location,
            )
            self._limit_key = limit_key(name, self._endpoint.api_key)
        except ConfigurationError as exc:
            if not (self._fallback_specs or _defer_configuration_errors):
                raise
            # With fallbacks, a provider without a key is skipped at stream time, visibly.
            self._config_error = exc
        # A fallback named by a string may lack its key: the chain then skips it, visibly.
        self._fallbacks = [
            f if isinstance(f, Client)
            else Client(f, retry=retry, timeouts=timeouts, _defer_configuration_errors=True)
            for f in self._fallback_specs
        ]

    def __repr__(self) -> str:
        return f"Client({self.provider!r}, model={self.model!r})"

    # -- requests -------------------------------------------------------------------

    def request(
        self,
        prompt: Optional[Prompt] = None,
        *,
        system: Optional[str] = None,
        model: Optional[str] = None,
        tools: Optional[Sequence[ToolSpec]] = (),
        tool_choice: Optional[str] = None,
        response_format: Optional[FormatSpec] = None,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        thinking: Union[bool, int, str, None] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        query: Optional[Mapping[str, str]] = None,
        previous_response_id: Optional[str] = None,
        chained_messages: int = 0,
        **controls: Unpack[Controls],
    ) -> ChatRequest:
        """The neutral request a call would send (handy to inspect or to test).

        `headers` and `query` add to the Client's for this call only; `controls` (stop,
        top_p, ...) override the Client's defaults (docs/request-options.rst).
        """
        messages = to_messages(prompt, system)
        if not messages:
            raise ConfigurationError("nothing to send: pass a prompt or a list of messages")
        if tools is None:
            tools = ()
        elif isinstance(tools, (str, Mapping)) or not isinstance(tools, Sequence):
            # One tool where a list belongs would otherwise fail deep inside, untyped.
            raise ConfigurationError(f"tools takes a list of tools, not {tools!r}: pass [tool]")
        defaults = self.defaults
        chosen = merge_controls(
            {k: v for k, v in defaults.items() if k in CONTROL_NAMES},
            check_controls(controls, "this call"),
        )
        return ChatRequest(
            **chosen,
            headers=check_headers(headers),
            query=dict(query or {}),
            previous_response_id=previous_response_id,
            chained_messages=chained_messages,
            model=model or self.model,
            messages=messages,
            tools=[to_tool(t) for t in tools if not isinstance(t, BUILTIN_TOOLS)],
            builtin_tools=[t for t in tools if isinstance(t, BUILTIN_TOOLS)],
            tool_choice=tool_choice,
            response_format=to_response_format(response_format) if response_format else None,
            max_tokens=max_tokens if max_tokens is not None else defaults["max_tokens"],
            temperature=temperature if temperature is not None else defaults["temperature"],
            thinking=thinking if thinking is not None else defaults["thinking"],
            stream=self.stream_mode,
            extra_body=dict(extra_body or {}),
        )

    def target(
        self,
        request: ChatRequest,
        *,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
    ) -> Target:
        """This client's attempt plan for a request (its model replaces the request's
        when the request came from another client of a fallback chain)."""
        return Target(
            provider=self.provider,
            model=request.model,
            wire=wire_format(self.wire_id),
            endpoint=self._endpoint,
            request=request,
            transport=self._transport,
            retry=retry or self.retry,
            timeouts=timeouts or self.timeouts,
            configuration_error=self._config_error,
            price=self._pricer(request.model),
            max_frame_bytes=self.max_frame_bytes,
            limits=self._limits,
            limit_key=self._limit_key,
        )

    def _pricer(self, model: str) -> Optional[Callable[[Usage], Usage]]:
        from .pricing import pricer_for

        return pricer_for(self.provider, model, self.prices)

    # The overloads only tell type checkers that a response_format model types `parsed`.
    @overload
    def stream(
        self,
        prompt: Optional[Prompt] = None,
        *,
        response_format: Type[Model],
        cancel: Optional[threading.Event] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        record_to: Union[str, IO[bytes], None] = None,
        on_end: Optional[Callable[[Stream], None]] = None,
        **options: Any,
    ) -> Stream[Model]: ...

    @overload
    def stream(
        self,
        prompt: Optional[Prompt] = None,
        *,
        cancel: Optional[threading.Event] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        record_to: Union[str, IO[bytes], None] = None,
        on_end: Optional[Callable[[Stream], None]] = None,
        **options: Any,
    ) -> Stream: ...

    def stream(
        self,
        prompt: Optional[Prompt] = None,
        *,
        cancel: Optional[threading.Event] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        record_to: Union[str, IO[bytes], None] = None,
        on_end: Optional[Callable[[Stream], None]] = None,
        on_request: Optional[OnRequest] = None,
        on_response: Optional[OnResponse] = None,
        **options: Any,
    ) -> Stream:
        """Start streaming an answer; iterate the returned Stream for events.

        Options are those of `request()`: system, model, tools, tool_choice,
        response_format, max_tokens, temperature, thinking, extra_body. `on_request` and
        `on_response` replace the Client's hooks for this call.
        """
        request = self.request(prompt, **options)
        targets = [self.target(request, retry=retry, timeouts=timeouts)]
        # A call's own credentials stay with this client's host.
        passed_on = without_credentials(request.headers)
        for fallback in self._fallbacks:
            # A per-call retry policy or deadline is the caller's for this call, whoever
            # answers it: it overrides each fallback's own, as it does the primary's.
            targets.append(
                fallback.target(
                    request.model_copy(update={"model": fallback.model, "headers": passed_on}),
                    retry=retry,
                    timeouts=timeouts,
                )
            )
        if self._endpoint is not None:
            # A control or a part the provider cannot take fails here, before any thread.
            targets[0].wire.build_request(request, self._endpoint)
        record = open(record_to, "wb") if isinstance(record_to, str) else record_to  # noqa: SIM115
        response_format = options.get("response_format")
        callbacks = [cb for cb in (on_end,) if cb is not None]
        if response_format is not None:
            callbacks.insert(0, lambda s: attach_parsed(s, response_format))
        observer = self.observing.start(targets, on_request, on_response)
        return start_stream(
            targets,
            cancel=cancel,
            fallback_on=self.fallback_on,
            record_to=record,
            own_record=isinstance(record_to, str),
            on_end=_chain(callbacks) if callbacks else None,
            observer=observer,
        )

    @overload
    def complete(
        self, prompt: Optional[Prompt] = None, *, response_format: Type[Model], **options: Any
    ) -> ChatResponse[Model]: ...

    @overload
    def complete(self, prompt: Optional[Prompt] = None, **options: Any) -> ChatResponse: ...

    def complete(self, prompt: Optional[Prompt] = None, **options: Any) -> ChatResponse:
        """Stream, drain and return the ChatResponse."""
        return self.stream(prompt, **options).final()

    def models(self) -> ModelList:
        """The provider's model ids (every page), with each raw entry in `.raw`; through
        the same transport, retries, deadlines and errors as a stream."""
        request = ChatRequest(model=self.model, messages=[Message.user("")])
        return list_models(self._usable(request), self.wire_id)

    def count_tokens(self, prompt: Optional[Prompt] = None, **options: Any) -> int:
        """The input tokens the prompt (with the options of `request()`: system, tools,
        ...) would take, by the provider's own counter: Anthropic, Gemini, Vertex AI and
        the Responses API have one; elsewhere this raises ConfigurationError."""
        return count_tokens(self._usable(self.request(prompt, **options)), self.wire_id)

    def _usable(self, request: ChatRequest) -> Target:
        if self._config_error is not None:
            raise self._config_error
        return self.target(request)

    def chat(self, system: Optional[str] = None, **options: Any) -> Chat:
        """A multi-turn conversation that keeps its history (see `streamchat.Chat`)."""
        return Chat(self, system=system, **options)

    def close(self) -> None:
        """Close pooled connections. Streams in flight are not affected."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _chain(callbacks: List[Callable[[Stream], None]]) -> Callable[[Stream], None]:
    """Run every callback even when one fails (a Chat must record its turn even when the
    answer does not validate), then raise the first failure."""

    def run(stream: Stream) -> None:
        failure: Optional[StreamChatError] = None
        for callback in callbacks:
            try:
                callback(stream)
            except StreamChatError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    return run
