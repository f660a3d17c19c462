"""What a stream adds up to: token counts and the final `ChatResponse`, folded from the
events by `streamchat.accumulate` and handed back by `final()` and as `.partial`."""

from __future__ import annotations

from typing import Any, Dict, Generic, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar

from .messages import Message, ThinkingBlock, ToolCall

FinishReason = Literal[
    "stop", "length", "tool_calls", "content_filter", "refusal", "cancelled", "paused", "other"
]


class Citation(BaseModel):
    """A source the answer cites, and where in the answer it does so."""

    model_config = ConfigDict(frozen=True)

    url: Optional[str] = None
    """The cited page, when the source is a web page."""
    title: Optional[str] = None
    """The page's or document's title."""
    cited_text: Optional[str] = None
    """The passage of the source that is quoted, when the provider gives it."""
    start: Optional[int] = None
    """Character offset in `ChatResponse.text` where the citing span starts."""
    end: Optional[int] = None
    """Character offset where it ends: `text[start:end]` is the span that cites."""
    source: Optional[str] = None
    """The provider's kind of citation, verbatim (`web_search_result_location`,
    `url_citation`, `char_location`, `grounding_chunk`, ...)."""


class ServerToolCall(BaseModel):
    """A built-in tool the provider ran itself (web search, code execution, ...)."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The provider's id for the call (synthesised where the provider has none)."""
    name: str
    """The tool's name as the provider gives it (web_search, code_execution, ...)."""
    input: Dict[str, Any] = Field(default_factory=dict)
    """What it was asked: the query, the code, the URL."""
    output: Any = None
    """What it returned, as the provider sent it; None until the result arrives."""


class Usage(BaseModel):
    """Token counts, normalised across providers; None where the provider did not say."""

    model_config = ConfigDict(frozen=True)

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    cached_input_tokens: Optional[int] = None
    """Input tokens served from the provider's prompt cache (a subset of input_tokens)."""
    cache_write_tokens: Optional[int] = None
    """Input tokens written to the provider's prompt cache (a subset of input_tokens;
    Anthropic charges them above the input rate)."""
    reasoning_tokens: Optional[int] = None
    """Output tokens spent on reasoning (a subset of output_tokens)."""
    cost_usd: Optional[float] = None
    """Price of the call: what the server reported it charged (LiteLLM's proxy,
    OpenRouter), else from the price table; None when neither knows."""

    def merged(self, newer: Usage) -> Usage:
        """Counts from a later report win; counts it does not mention are kept."""
        values = self.model_dump()
        values.update(newer.model_dump(exclude_none=True))
        if newer.total_tokens is None and values["input_tokens"] is not None:
            values["total_tokens"] = values["input_tokens"] + (values["output_tokens"] or 0)
        return Usage(**values)


class RateLimit(BaseModel):
    """Where a key stands against its provider's rate limits, from the response headers
    (OpenAI, Groq and OpenRouter `x-ratelimit-*`, Anthropic `anthropic-ratelimit-*`).
    Every field is None where the provider did not say; resets are seconds from when the
    response arrived."""

    model_config = ConfigDict(frozen=True)

    requests_limit: Optional[int] = None
    requests_remaining: Optional[int] = None
    requests_reset: Optional[float] = None
    """Seconds until the request allowance is restored."""
    tokens_limit: Optional[int] = None
    tokens_remaining: Optional[int] = None
    tokens_reset: Optional[float] = None
    """Seconds until the token allowance is restored."""

    @property
    def wait(self) -> Optional[float]:
        """Seconds until an exhausted allowance comes back (None when none is exhausted
        or its reset is unknown): how long a 429 without Retry-After should wait."""
        waits = [
            reset for remaining, reset in (
                (self.requests_remaining, self.requests_reset),
                (self.tokens_remaining, self.tokens_reset),
            )
            if remaining == 0 and reset is not None
        ]
        return max(waits) if waits else None


class TopLogprob(BaseModel):
    """One candidate token at a position, with its log probability."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float
    bytes: Optional[List[int]] = None
    """The token's UTF-8 bytes, where the provider gives them (a token may split a character)."""


class TokenLogprob(BaseModel):
    """One output token, its log probability and the most likely alternatives."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float
    bytes: Optional[List[int]] = None
    top_logprobs: List[TopLogprob] = Field(default_factory=list)
    """The most likely tokens at this position (as many as top_logprobs asked for)."""


Parsed = TypeVar("Parsed", default=Any)
"""The type of `ChatResponse.parsed`: the response_format model when a call names one
(`client.complete(..., response_format=City)` gives a `ChatResponse[City]`), else Any.
The default keeps a bare `ChatResponse` annotation valid under mypy --strict."""


class ChatResponse(BaseModel, Generic[Parsed]):
    """Everything a stream produced, folded into one object.

    Generic only for type checkers: `ChatResponse[City]` types `parsed` as a `City`.
    """

    provider: str = ""
    model: str = ""
    text: str = ""
    thinking: Optional[str] = None
    thinking_blocks: List[ThinkingBlock] = Field(default_factory=list)
    tool_calls: List[ToolCall] = Field(default_factory=list)
    refusal: Optional[str] = None
    """The model's refusal, when it declined to answer (never part of `text`)."""
    citations: List[Citation] = Field(default_factory=list)
    """Sources the answer cites, in arrival order."""
    server_tool_calls: List[ServerToolCall] = Field(default_factory=list)
    """Built-in tools the provider ran while answering, with their results."""
    provider_data: Dict[str, Dict[str, Any]] = Field(default_factory=dict)
    """What the provider needs back on the next turn, by wire (see `Message.provider_data`)."""
    usage: Optional[Usage] = None
    finish_reason: Optional[FinishReason] = None
    """None while the stream has not ended (a `.partial` of a failure)."""
    provider_finish_reason: Optional[str] = None
    response_id: Optional[str] = None
    request_id: Optional[str] = None
    """The provider's id for the HTTP request (x-request-id, request-id): what its
    support asks for."""
    rate_limit: Optional[RateLimit] = None
    """The key's rate-limit state as the provider reported it with this answer."""
    logprobs: Optional[List[TokenLogprob]] = None
    """Each output token's log probability, when the request asked for logprobs."""
    parsed: Optional[Parsed] = None
    """The validated structured output, when a response_format was given (an instance of
    the model, or a dict for a JSON schema); None otherwise and for an interrupted answer."""

    def _repr_markdown_(self) -> str:
        # Jupyter shows a response that ends a cell as its answer, not as a pydantic repr.
        return response_markdown(self)

    def to_message(self) -> Message:
        """The assistant message to append to a conversation."""
        return Message(
            role="assistant",
            content=self.text,
            tool_calls=list(self.tool_calls),
            thinking=list(self.thinking_blocks),
            provider_data=dict(self.provider_data),
            interrupted=self.finish_reason in ("cancelled", "paused"),
        )


def usage_summary(usage: Usage) -> str:
    """`12 in / 40 out tokens (8 reasoning), $0.000069`: how the CLI and notebooks show it."""
    line = f"{usage.input_tokens or 0} in / {usage.output_tokens or 0} out tokens"
    if usage.reasoning_tokens:
        line += f" ({usage.reasoning_tokens} reasoning)"
    if usage.cost_usd is not None:
        line += f", ${usage.cost_usd:.6f}"
    return line


def response_markdown(response: ChatResponse, *, live: bool = False) -> str:
    """A response as Markdown for Jupyter: reasoning folded away in a `<details>` block,
    the answer, tool calls, an interrupted answer marked, and usage and cost at the end.
    `live`: the answer is still arriving (a cursor, no footer yet)."""
    parts: List[str] = []
    if response.thinking:
        summary = "Thinking…" if live and not response.text else "Thinking"
        parts.append(
            f"<details><summary>{summary}</summary>\n\n{response.thinking}\n\n</details>"
        )
    text = response.text + (" ▌" if live else "")
    if text:
        parts.append(text)
    for call in response.tool_calls:
        parts.append(f"**tool call** `{call.name}({call.raw_arguments})`")
    if live:
        return "\n\n".join(parts)
    if response.refusal is not None:
        parts.append(f"**refused**: {response.refusal or '(no reason given)'}")
    sources = list(dict.fromkeys(c.url for c in response.citations if c.url))
    if sources:
        parts.append("Sources: " + " ".join(f"[{n}]({url})" for n, url in
                                           enumerate(sources, 1)))
    footer: List[str] = []
    if response.finish_reason in ("cancelled", "paused"):
        footer.append(f"**{response.finish_reason}**: the answer above is partial")
    elif response.finish_reason not in (None, "stop", "tool_calls"):
        footer.append(f"finish reason: {response.finish_reason}")
    if response.usage is not None:
        label = f"{response.provider} {response.model}".strip()
        usage = usage_summary(response.usage)
        footer.append(f"{label}: {usage}" if label else usage)
    if footer:
        parts.append("*" + " · ".join(footer) + "*")
    return "\n\n".join(parts)
