"""Reading the content parts a request carried back into streamchat's own parts.

Each wire module reads its provider's shapes (`request_parts`); what they share lives
here: checking a field's type, base64 and data URLs, and the error for a part the
provider would refuse. The fake reads strictly, as the provider does: a shape its
documentation does not describe is answered with a 400 that says what was wrong, so a
wire adapter that writes a wrong shape fails its test here rather than at the provider.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Dict, List, Mapping

from ...errors import ConfigurationError
from ...types import Part, Text

ReadPart = Callable[[Mapping[str, Any]], List[Part]]


class UnreadablePart(ValueError):
    """A content part the provider would refuse; the message says which field and why."""


def _wrong(value: Any, kind: str, what: str) -> UnreadablePart:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return UnreadablePart(f"{what} must be {kind}, not {shown}")


def string(value: Any, what: str) -> str:
    """`value` when it is a string, as the provider's schema wants, else UnreadablePart."""
    if not isinstance(value, str):
        raise _wrong(value, "a string", what)
    return value


def mapping(value: Any, what: str) -> Mapping[str, Any]:
    """`value` when it is an object, else UnreadablePart."""
    if not isinstance(value, Mapping):
        raise _wrong(value, "an object", what)
    return value


def items(value: Any, what: str) -> List[Any]:
    """`value` when it is a list, else UnreadablePart."""
    if not isinstance(value, list):
        raise _wrong(value, "a list", what)
    return value


def decoded(text: Any, what: str) -> bytes:
    """Base64 text as bytes; anything else is UnreadablePart."""
    try:
        return base64.b64decode(string(text, what), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadablePart(f"{what} is not valid base64") from exc


def data_url(url: Any, what: str) -> Dict[str, Any]:
    """A `data:<type>;base64,<data>` URL as the fields of a part."""
    head, sep, payload = string(url, what).partition(",")
    if not head.startswith("data:") or not sep or not head.endswith(";base64"):
        raise UnreadablePart(f"{what} is not a data URL with base64 content")
    return {"media_type": head[5:-7] or None, "data": decoded(payload, what)}


def from_url(kind: Callable[..., Part], url: Any, what: str, **fields: Any) -> Part:
    """A part from a field that holds a URL or a data URL (OpenAI's image_url)."""
    if string(url, what).startswith("data:"):
        return made(kind, what, **data_url(url, what), **fields)
    return made(kind, what, url=url, **fields)


def made(kind: Callable[..., Part], what: str, **fields: Any) -> Part:
    """The part, or UnreadablePart when its content is not what the field claims."""
    try:
        return kind(**{k: v for k, v in fields.items() if v is not None})
    except ConfigurationError as exc:
        raise UnreadablePart(f"{what}: {exc}") from exc


def content_parts(content: Any, read: Callable[[Any], List[Part]]) -> List[Part]:
    """A message's content, a string or a list of the wire's parts, as parts."""
    if isinstance(content, str):
        return [Text(content)] if content else []
    return [part for item in items(content, "content") for part in read(item)]


def typed(item: Any, readers: Mapping[str, ReadPart], what: str) -> List[Part]:
    """Read a part by its `type` field with the wire's reader for that type."""
    fields = mapping(item, what)
    reader = readers.get(fields.get("type"))  # type: ignore[arg-type]
    if reader is None:
        raise UnreadablePart(f"unknown {what} type {fields.get('type')!r}")
    return reader(fields)
