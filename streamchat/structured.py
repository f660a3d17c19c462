"""Structured output: a pydantic model or a JSON schema as the format an answer must
follow (`response_format=`), and the validation of the finished answer against it
(`response.parsed`). See docs/structured-output.rst."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Mapping, Type, Union

from pydantic import BaseModel, ValidationError

from .errors import ConfigurationError, OutputValidationError
from .types import ChatResponse, ResponseFormat

if TYPE_CHECKING:
    from .stream import Stream

FormatSpec = Union[Type[BaseModel], Mapping[str, Any], ResponseFormat]


def to_response_format(spec: FormatSpec) -> ResponseFormat:
    if isinstance(spec, ResponseFormat):
        return spec
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        schema = strict_schema(spec.model_json_schema())
        return ResponseFormat(name=spec.__name__, json_schema=schema)
    if isinstance(spec, Mapping):
        return ResponseFormat(name=str(spec.get("title", "response")), json_schema=dict(spec))
    raise ConfigurationError(
        f"response_format must be a pydantic model class or a JSON schema dict, not {spec!r}"
    )


def strict_schema(schema: Dict[str, Any]) -> Dict[str, Any]:
    """Strict structured output wants every object closed and every property required."""
    if schema.get("type") == "object" and "properties" in schema:
        schema["additionalProperties"] = False
        schema["required"] = list(schema["properties"])
    for value in schema.values():
        if isinstance(value, dict):
            strict_schema(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    strict_schema(item)
    return schema


def parse_structured(response: ChatResponse, spec: FormatSpec) -> Any:
    """Validate the answer against the requested format; keep the raw text on failure."""
    if response.refusal is not None:
        # A refusal is not an answer in the format: say so rather than parse nothing.
        raise OutputValidationError(
            f"{response.provider} refused to answer in the requested format: "
            f"{response.refusal or response.provider_finish_reason}",
            raw_text=response.refusal,
            provider=response.provider,
            partial=response,
        )
    text = response.text.strip()
    if text.startswith("```"):
        text = text.strip("`").split("\n", 1)[-1].rsplit("```", 1)[0]
    try:
        if isinstance(spec, type) and issubclass(spec, BaseModel):
            return spec.model_validate_json(text)
        return json.loads(text)
    except (ValidationError, ValueError) as exc:
        raise OutputValidationError(
            f"{response.provider} answered with output that does not match the requested "
            f"format: {exc}",
            raw_text=response.text,
            provider=response.provider,
            partial=response,
        ) from exc


def attach_parsed(stream: Stream, spec: FormatSpec) -> None:
    response = stream.response
    # An interrupted answer is incomplete, and a round that asks for tools (a Chat.run
    # loop) has no answer yet: only a finished answer is parsed.
    if response is not None and response.finish_reason not in ("cancelled", "paused", "tool_calls"):
        response.parsed = parse_structured(response, spec)
