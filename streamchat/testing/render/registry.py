"""Which wire module renders which wire format, and the questions asked of a request
before rendering it (which wire a path belongs to, stream or not, which model, what the
user said).

The fake server and the `responses` helper ask these through here, so neither knows a
provider's paths or rules; a new wire format is registered in this one place.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...types import Part
from ..script import WIRES
from . import anthropic, catalog, gemini, ollama, openai_chat, openai_responses
from .common import Rendered, Wire
from .parts import UnreadablePart

_REGISTRY: Dict[str, Wire] = {
    w.name: w
    for w in (openai_chat.WIRE, openai_responses.WIRE, anthropic.WIRE, gemini.WIRE, ollama.WIRE)
}


def wire_spec(wire: str) -> Wire:
    try:
        return _REGISTRY[wire]
    except KeyError:
        raise ValueError(f"unknown wire format {wire!r}; expected one of {WIRES}") from None


def wants_stream(wire: str, body: Any, path: str = "") -> bool:
    """Whether the request asked for a stream, by each API's own rule."""
    return wire_spec(wire).wants_stream(body, path)


def model_of(wire: str, body: Any, path: str = "") -> str:
    """The model the request named (Gemini names it in the path)."""
    return wire_spec(wire).model_of(body, path)


def prompt_text(wire: str, body: Any) -> str:
    """The text of the last user message, whatever the wire's request shape."""
    return wire_spec(wire).prompt(body)


def parts_of(wire: str, body: Any) -> List[Part]:
    """The content parts of a request's user turns and tool results, read back into
    streamchat's parts; raises `UnreadablePart` for a shape the provider would refuse."""
    return wire_spec(wire).parts(body) if isinstance(body, Mapping) else []


def read_parts(wire: Optional[str], body: Any) -> Tuple[Tuple[Part, ...], Optional[str]]:
    """The request's parts, and what is wrong with them when the provider would refuse
    them (the fake then answers 400 with that)."""
    if wire is None:
        return (), None
    try:
        return tuple(parts_of(wire, body)), None
    except UnreadablePart as exc:
        return (), f"Invalid content: {exc}"


def keepalive_frame(wire: str) -> Optional[bytes]:
    """What the provider sends to keep a quiet stream open (Ollama sends nothing)."""
    return wire_spec(wire).keepalive


def content_type(wire: str, stream: bool) -> str:
    spec = wire_spec(wire)
    return spec.stream_type if stream else spec.body_type


def wire_for_path(path: str) -> Optional[str]:
    """Route by the endpoint's own suffix, so any base URL prefix (`/openai/v1`) works."""
    for spec in _REGISTRY.values():
        if spec.serves(path):
            return spec.name
    return None


def base_path(wire: str) -> str:
    """The path after the fake's address in the base URL of this wire's presets; any other
    name is taken for an OpenAI-compatible preset."""
    return _REGISTRY.get(wire, openai_chat.WIRE).base_path


def answer_get(path: str) -> Optional[Rendered]:
    """The answer to a GET some wire serves besides chat (probes, model lists), if any."""
    listing = catalog.model_list(path)
    if listing is not None:
        return listing
    for spec in _REGISTRY.values():
        answer = spec.get(path)
        if answer is not None:
            return answer
    return None


def answer_post(path: str, body: Any) -> Optional[Rendered]:
    """The answer to a POST some wire serves besides chat (token counting), if any."""
    return catalog.token_count(path, body)
