"""What the caller asks for, before and after a provider has shaped it: the neutral
`ChatRequest` (with its tools and output format) and the exact `HttpRequest` an adapter
builds from it, which tests compare by equality."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Type, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from .messages import Message

Effort = Literal["minimal", "low", "medium", "high"]


class Tool(BaseModel):
    """A function the model may call, described once for every provider."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: Dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    """JSON schema of the arguments object."""
    strict: bool = False
    """True: the provider keeps the arguments to the schema exactly (OpenAI and
    Anthropic `strict`, Gemini's VALIDATED calling mode); the schema must then close
    every object (`additionalProperties: false`) and require every property."""
    cache: bool = False
    """A cache breakpoint after the tool definitions (Anthropic `cache_control`; other
    providers cache prompt prefixes on their own and ignore it)."""

    @classmethod
    def from_model(
        cls, model: Type[BaseModel], name: Optional[str] = None, description: Optional[str] = None
    ) -> Tool:
        """Describe a tool whose arguments are the fields of a pydantic model."""
        schema = model.model_json_schema()
        doc = description if description is not None else schema.pop("description", "")
        schema.pop("title", None)
        return cls(name=name or model.__name__, description=doc or "", parameters=schema)

    @classmethod
    def from_function(cls, func: Callable[..., Any], name: Optional[str] = None) -> Tool:
        """Describe a tool from a typed Python function: its signature is the schema."""
        fields: Dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = Any if param.annotation is param.empty else param.annotation
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (annotation, default)
        arguments_model: Type[BaseModel] = create_model(func.__name__, **fields)
        description = inspect.getdoc(func) or ""
        return cls.from_model(arguments_model, name=name or func.__name__, description=description)


class ResponseFormat(BaseModel):
    """Structured output: the JSON schema the answer must follow."""

    model_config = ConfigDict(frozen=True)

    name: str = "response"
    json_schema: Dict[str, Any]
    strict: bool = True


class WebSearch(BaseModel):
    """The provider's own web search, run while it answers (Anthropic, Responses, Gemini;
    Chat Completions search models)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["web_search"] = "web_search"
    max_uses: Optional[int] = None
    """At most this many searches in one answer (Anthropic)."""
    allowed_domains: Optional[List[str]] = None
    """Search only these sites (Anthropic, Responses)."""


class CodeExecution(BaseModel):
    """The provider runs code it writes in its own sandbox (Anthropic, Responses' code
    interpreter, Gemini)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["code_execution"] = "code_execution"


class UrlContext(BaseModel):
    """The provider fetches the pages the prompt names (Anthropic web fetch, Gemini URL
    context)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["url_context"] = "url_context"


BuiltinTool = Union[WebSearch, CodeExecution, UrlContext]
"""A tool the provider runs itself; goes in `tools=[...]` beside functions."""

BUILTIN_TOOLS = (WebSearch, CodeExecution, UrlContext)


class ChatRequest(BaseModel):
    """What the caller wants, before any provider has shaped it."""

    model: str
    messages: List[Message]
    tools: List[Tool] = Field(default_factory=list)
    builtin_tools: List[BuiltinTool] = Field(default_factory=list)
    """Tools the provider runs itself; each wire maps them or refuses them."""
    tool_choice: Optional[str] = None
    """"auto", "none", "required", or the name of one tool to force."""
    response_format: Optional[ResponseFormat] = None
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    thinking: Union[bool, int, Effort, None] = None
    """True, a token budget, or an effort level; None leaves the provider's default."""
    stream: bool = True
    stop: List[str] = Field(default_factory=list)
    """Sequences that end the answer when the model produces them."""
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    seed: Optional[int] = None
    presence_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    parallel_tool_calls: Optional[bool] = None
    """False: at most one tool call per answer; None leaves the provider's default (several)."""
    logprobs: bool = False
    """Return each output token's log probability (ChatResponse.logprobs, `logprobs` events)."""
    top_logprobs: Optional[int] = None
    """How many most likely alternatives to return at each position; implies logprobs."""
    service_tier: Optional[str] = None
    """The provider's own word for a capacity tier ("flex", "priority", "auto", ...)."""
    metadata: Dict[str, str] = Field(default_factory=dict)
    """Key-value pairs the provider keeps with the request (Vertex: billing labels)."""
    store: Optional[bool] = None
    """Whether the provider keeps the response for later retrieval (Responses API)."""
    previous_response_id: Optional[str] = None
    """Continue from a stored response (Responses API) instead of resending history."""
    chained_messages: int = 0
    """How many leading messages the server already holds under previous_response_id:
    a wire that can chain sends only the rest; any other sends them all and no id."""
    headers: Dict[str, str] = Field(default_factory=dict)
    """HTTP headers for this call, over the preset's and the Client's."""
    query: Dict[str, str] = Field(default_factory=dict)
    """URL query parameters for this call, added to any in the base URL."""
    extra_body: Dict[str, Any] = Field(default_factory=dict)
    """Provider-specific fields merged into the request body last."""

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        """A single stop sequence may be given as a string."""
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    def model_post_init(self, context: Any) -> None:
        # Asking for alternatives is asking for log probabilities.
        if self.top_logprobs is not None and not self.logprobs:
            self.logprobs = True


@dataclass(frozen=True)
class HttpRequest:
    """The exact HTTP request an adapter wants sent; compared by equality in tests.

    Headers and body stay out of the repr because headers carry the API key.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    json: Optional[Dict[str, Any]] = field(default=None, repr=False)
