"""Content parts as Anthropic content blocks: text, image and document blocks with their
sources, cache breakpoints, and the limits the Messages API puts on them.

Images: https://docs.anthropic.com/en/docs/build-with-claude/vision
PDF: https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
Plain-text documents: https://docs.anthropic.com/en/docs/build-with-claude/citations
Uploaded files: https://docs.anthropic.com/en/docs/build-with-claude/files
Cache breakpoints: https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Sequence, Union

from ..errors import ConfigurationError
from ..types import Document, Image, Message, Part, Text, Tool
from .parts import plain_text, unsupported

FILES_BETA = "files-api-2025-04-14"
"""The beta a request must declare (`anthropic-beta`) to name an uploaded file."""

MAX_BREAKPOINTS = 4
"""Cache breakpoints (`cache_control`) the API accepts in one request."""

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCUMENT_TYPES = frozenset({"application/pdf", "text/plain"})


def _source(provider: str, part: Union[Image, Document]) -> Dict[str, Any]:
    if part.url is not None:
        return {"type": "url", "url": part.url}
    if part.file_id is not None:
        return {"type": "file", "file_id": part.file_id}
    if part.media_type == "text/plain" and isinstance(part, Document):
        return {"type": "text", "media_type": "text/plain", "data": plain_text(provider, part)}
    return {"type": "base64", "media_type": part.media_type, "data": part.base64}


def block(provider: str, part: Part) -> Dict[str, Any]:
    """One part as a content block, with a cache breakpoint when the part asks for one."""
    out: Dict[str, Any]
    if isinstance(part, Text):
        out = {"type": "text", "text": part.text}
    elif isinstance(part, Image):
        if part.data is not None and part.media_type not in IMAGE_TYPES:
            raise unsupported(provider, part, "images must be JPEG, PNG, GIF or WebP")
        out = {"type": "image", "source": _source(provider, part)}
    elif isinstance(part, Document):
        if part.data is not None and part.media_type not in DOCUMENT_TYPES:
            raise unsupported(provider, part, "documents must be PDF or plain text")
        out = {"type": "document", "source": _source(provider, part)}
        if part.citations:
            out["citations"] = {"enabled": True}
    else:
        raise unsupported(provider, part, "Claude takes no audio")
    if part.cache:
        out["cache_control"] = {"type": "ephemeral"}
    return out


def blocks(provider: str, parts: Iterable[Part]) -> List[Dict[str, Any]]:
    return [block(provider, part) for part in parts]


def _parts(messages: Sequence[Message]) -> Iterator[Part]:
    for message in messages:
        if not isinstance(message.content, str):
            yield from message.content


def check_breakpoints(
    provider: str, messages: Sequence[Message], tools: Sequence[Tool] = ()
) -> None:
    """Refuse a request with more cache breakpoints than the API accepts, before sending:
    parts of any message (the system prompt's included) and tools all count."""
    found = sum(1 for part in _parts(messages) if part.cache)
    found += sum(1 for tool in tools if tool.cache)
    if found > MAX_BREAKPOINTS:
        raise ConfigurationError(
            f"{provider} takes at most {MAX_BREAKPOINTS} cache breakpoints in one request "
            f"and this one has {found}: keep cache=True on the last part of each prefix "
            "worth caching only",
            provider=provider,
        )


def add_beta(headers: Dict[str, str], beta: str) -> None:
    """Declare a beta beside any the caller's headers already declare (comma-separated)."""
    key = next((k for k in headers if k.lower() == "anthropic-beta"), "anthropic-beta")
    declared = [b.strip() for b in headers.get(key, "").split(",") if b.strip()]
    if beta not in declared:
        headers[key] = ",".join([*declared, beta])


def uses_files(messages: Sequence[Message]) -> bool:
    """Whether any part names an uploaded file, which needs the Files API beta."""
    return any(getattr(part, "file_id", None) is not None for part in _parts(messages))
