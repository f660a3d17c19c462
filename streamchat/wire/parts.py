"""What every wire needs when it turns content parts into its provider's shape.

Each wire module decides which parts its provider takes and how they look; the pieces they
share live here once: one way of refusing a part (named with the provider, before anything
is sent), the text of a message that may hold only text, OpenAI's audio format names, a
media type that an API needs even for a URL. None of it runs for a message whose content
is a plain string: that path costs what it cost before parts existed.
"""

from __future__ import annotations

from typing import List, Mapping, Sequence, Union

from ..errors import ConfigurationError
from ..types import Audio, Document, Image, Message, Part, Text

Media = Union[Image, Document, Audio]

AUDIO_FORMATS: Mapping[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}
"""The names OpenAI's `input_audio.format` takes, by media type."""

DEFAULT_NAMES: Mapping[str, str] = {"application/pdf": "document.pdf", "text/plain": "document.txt"}
"""File names for documents sent as data without one, where the API wants a name."""


def unsupported(provider: str, part: Part, why: str) -> ConfigurationError:
    """The error for a part this provider cannot take, raised before anything is sent."""
    return ConfigurationError(f"{provider} cannot take {part!r}: {why}", provider=provider)


def refuse_citations(provider: str, part: Part) -> None:
    """Only Anthropic cites a document on request: elsewhere the flag would be lost."""
    if isinstance(part, Document) and part.citations:
        raise unsupported(provider, part, "only anthropic cites documents on request "
                          "(citations=True); leave it off for this provider")


def text_only(provider: str, parts: Sequence[Part], where: str) -> str:
    """The text of a message that may hold only text (a system prompt, an answer)."""
    texts: List[str] = []
    for part in parts:
        if not isinstance(part, Text):
            raise unsupported(provider, part, f"{where} may hold only text")
        texts.append(part.text)
    return "\n\n".join(texts)


def message_text(provider: str, message: Message, where: str) -> str:
    """A message's text where only text may go: the string, or its text parts joined."""
    if isinstance(message.content, str):
        return message.content
    return text_only(provider, message.content, where)


def media_type_of(provider: str, part: Media) -> str:
    """The part's media type, for an API that needs one even for a URL or a file id."""
    if part.media_type is None:
        raise unsupported(
            provider, part, "its media type is not known (the URL or name has no telling "
            "extension): pass media_type=..."
        )
    return part.media_type


def file_name(part: Media) -> str:
    """The part's name, or a generic one that says what kind of file it is."""
    return part.name or DEFAULT_NAMES.get(part.media_type or "", "file")


def audio_format(provider: str, part: Audio) -> str:
    """"wav" or "mp3", the formats OpenAI takes audio in."""
    found = AUDIO_FORMATS.get(part.media_type or "")
    if found is None:
        raise unsupported(provider, part, "audio must be WAV or MP3 here")
    return found


def plain_text(provider: str, part: Document) -> str:
    """A text document's content, for APIs that take it as text rather than bytes."""
    try:
        return (part.data or b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise unsupported(provider, part, "a text/plain document must be UTF-8") from exc
