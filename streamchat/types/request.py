"""What the caller asks for, before and after a provider has shaped it: the neutral
`ChatRequest` (with its tools and output format) and the exact `HttpRequest` an adapter
builds from it, which tests compare by equality."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Type, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

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


class ChatRequest(BaseModel):
    """What the caller wants, before any provider has shaped it."""

    model: str
    messages: List[Message]
    tools: List[Tool] = Field(default_factory=list)
    tool_choice: Optional[str] = None
    """"auto", "none", "required", or the name of one tool to force."""
    response_format: Optional[ResponseFormat] = None
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    thinking: Union[bool, int, Effort, None] = None
    """True, a token budget, or an effort level; None leaves the provider's default."""
    stream: bool = True
    extra_body: Dict[str, Any] = Field(default_factory=dict)
    """Provider-specific fields merged into the request body last."""


@dataclass(frozen=True)
class HttpRequest:
    """The exact HTTP request an adapter wants sent; compared by equality in tests.

    Headers and body stay out of the repr because headers carry the API key.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    json: Optional[Dict[str, Any]] = field(default=None, repr=False)
