"""Content parts: the text, images, documents and audio a message is made of.

A part says what it is and where its content is: the bytes (`data=`), a URL the provider
fetches (`url=`), or a file uploaded to the provider beforehand (`file_id=`). Each wire
module turns parts into its provider's own shape. The media type is settled here, once,
when the part is made (the caller's, else the bytes' signature, else the file name), so
that every wire and every later turn agree on it, and a part whose type cannot be known
fails on the line that made it rather than at the provider.

Bytes are held as given and encoded to base64 once, on first use: a large image in a
long conversation is one object however many turns send it.
"""

from __future__ import annotations

import base64
import binascii
import pathlib
import urllib.parse
from functools import cached_property
from typing import Annotated, Any, Dict, Iterator, Literal, Optional, Tuple, Type, TypeVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
    model_validator,
)

from ..errors import ConfigurationError

Detail = Literal["auto", "low", "high"]

_SIGNATURES: Tuple[Tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
)
_RIFF_KINDS = {b"WEBP": "image/webp", b"WAVE": "audio/wav"}

EXTENSIONS: Dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}
"""Media types by file name extension, for content whose bytes do not say."""


def sniff(data: bytes) -> Optional[str]:
    """The media type the bytes' own signature gives (PNG, JPEG, GIF, WebP, PDF, WAV, MP3)."""
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF":
        return _RIFF_KINDS.get(data[8:12])
    # NOTE: an MP3 without an ID3 tag opens on an MPEG frame sync (eleven set bits) whose
    # layer bits are not 00; AAC's ADTS header has the same sync with layer 00.
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:
        return "audio/mpeg"
    return None


def media_type_for_name(name: str) -> Optional[str]:
    """The media type a file name or a URL's path suggests by its extension."""
    path = name.split("#", 1)[0].split("?", 1)[0]
    return EXTENSIONS.get(pathlib.PurePosixPath(path).suffix.lower())


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    """The kind of part; each class fixes its own."""
    cache: bool = False
    """A cache breakpoint: the prompt up to and including this part is worth caching
    (sent as Anthropic's cache_control; other providers cache prefixes on their own)."""

    @model_serializer(mode="wrap")
    def _typed(self, handler: SerializerFunctionWrapHandler) -> Dict[str, Any]:
        # The kind is written even under exclude_defaults, or a saved conversation would
        # not read back into the same parts; unset sources are left out.
        out: Dict[str, Any] = handler(self)
        fields = {k: v for k, v in out.items() if v is not None and k != "type"}
        return {"type": self.type, **fields}

    def __repr_args__(self) -> Iterator[Tuple[Optional[str], Any]]:
        # Never the bytes: the repr of a 5 MB image would bury the error that shows it.
        for key, value in super().__repr_args__():
            if key == "data" and isinstance(value, bytes):
                yield key, _Size(len(value))
            elif key == "url" and isinstance(value, str):
                yield key, _shown_url(value)
            elif value is not None and key != "type" and (key != "cache" or value):
                yield key, value


class Text(_Part):
    """Text as one part among others: `Text("long shared context", cache=True)`."""

    type: Literal["text"] = "text"
    text: str

    def __init__(self, text: str, **fields: Any) -> None:
        super().__init__(text=text, **fields)


_MediaT = TypeVar("_MediaT", bound="_Media")


class _Media(_Part):
    data: Optional[bytes] = None
    """The content itself; given as a string, it is read as base64 (as `to_json` writes it)."""
    url: Optional[str] = None
    """Where the provider fetches it from."""
    file_id: Optional[str] = None
    """A file uploaded to the provider beforehand (OpenAI and Anthropic Files APIs, or a
    Gemini file URI)."""
    media_type: Optional[str] = None
    """The IANA media type; sniffed from the bytes or the name when not given."""
    name: Optional[str] = None
    """A file name, sent where the provider wants one."""

    def __init__(self, **fields: Any) -> None:
        # Settled before pydantic sees the fields, so that a bad part raises
        # ConfigurationError itself rather than a ValidationError around it.
        super().__init__(**_settled(type(self).__name__, fields))

    @model_validator(mode="before")
    @classmethod
    def _settle(cls, values: Any) -> Any:
        # Parts built from dicts (a saved conversation, a message dict) are settled too.
        return _settled(cls.__name__, dict(values)) if isinstance(values, dict) else values

    @classmethod
    def from_path(cls: Type[_MediaT], path: Union[str, pathlib.Path], **fields: Any) -> _MediaT:
        """Read a local file; its name gives the media type when the bytes do not."""
        file = pathlib.Path(path)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the {cls.__name__} at {str(path)!r}: {exc.strerror or exc}"
            ) from exc
        fields.setdefault("name", file.name)
        return cls(data=data, **fields)

    @field_serializer("data", when_used="json")
    def _to_base64(self, value: Optional[bytes]) -> Optional[str]:
        return None if value is None else self.base64

    @cached_property
    def base64(self) -> str:
        """The data as base64 text, encoded on first use and kept for every later request."""
        return base64.b64encode(self.data or b"").decode("ascii")

    def data_url(self) -> str:
        """The data as a `data:` URL, for APIs that take content as a URL."""
        return f"data:{self.media_type};base64,{self.base64}"


def _shown_url(url: str) -> str:
    # A signed URL's query (a key=, a signature) and a URL's user:password are credentials:
    # a repr, and every error that quotes the part, says where the file is, not what opens it.
    split = urllib.parse.urlsplit(url)
    host = split.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(
        (split.scheme, host, split.path, "..." if split.query else "", "")
    )


class _Size(int):
    def __repr__(self) -> str:
        return f"<{int(self)} bytes>"


class Image(_Media):
    """An image: `Image.from_path("cat.png", detail="low")`, `Image(url=...)`."""

    type: Literal["image"] = "image"
    detail: Optional[Detail] = None
    """How closely to look: "low" costs fewer tokens. OpenAI takes it; others ignore it."""


class Document(_Media):
    """A document, PDF or plain text: `Document.from_path("report.pdf")`."""

    type: Literal["document"] = "document"
    citations: bool = False
    """Ask the model to cite passages of this document (Anthropic's citations, which it
    gives only for documents that ask); other providers refuse it rather than ignore it."""


class Audio(_Media):
    """A sound recording: `Audio.from_path("question.wav")`."""

    type: Literal["audio"] = "audio"


_FAMILIES = {"Image": "image/", "Audio": "audio/"}


def _decoded(
    text: str, problem: str = "data given as a string must be base64 (pass bytes for raw content)"
) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(problem) from exc


def _settled(kind: str, fields: Dict[str, Any]) -> Dict[str, Any]:
    """The fields with one source checked and the media type filled in where knowable."""
    sources = [key for key in ("data", "url", "file_id") if fields.get(key) is not None]
    if len(sources) != 1:
        given = " and ".join(sources) or "none"
        raise ConfigurationError(
            f"{kind} needs exactly one of data=, url= or file_id= ({given} given)"
        )
    url = fields.get("url")
    if isinstance(url, str) and url[:5].lower() == "data:":
        # Content, not a location: kept as bytes, so that every provider gets it the way
        # it takes inline content (Anthropic, Gemini and Ollama fetch no data: URLs).
        content, declared = _from_data_url(kind, url)
        fields.update(url=None, data=content)
        if fields.get("media_type") is None:
            fields["media_type"] = declared
    data = fields.get("data")
    if isinstance(data, str):
        data = fields["data"] = _decoded(data)
    elif isinstance(data, (bytearray, memoryview)):
        data = fields["data"] = bytes(data)
    media_type = fields.get("media_type")
    if media_type is None and isinstance(data, bytes):
        media_type = sniff(data[:16]) or media_type_for_name(fields.get("name") or "")
        if media_type is None:
            raise ConfigurationError(
                f"cannot tell what kind of file this {kind} is: its bytes are not PNG, JPEG, "
                "GIF, WebP, PDF, WAV or MP3 and it has no file name with a known extension; "
                "pass media_type=..."
            )
    elif media_type is None:
        media_type = media_type_for_name(fields.get("name") or fields.get("url") or "")
    if media_type is not None:
        _check_family(kind, media_type)
        fields["media_type"] = media_type
    return fields


def _from_data_url(kind: str, url: str) -> Tuple[bytes, Optional[str]]:
    """The bytes and media type of a `data:[<type>][;base64],<data>` URL (RFC 2397)."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ConfigurationError(f"{kind}(url=...) is a data: URL without a comma before its data")
    params = [p.strip() for p in header.split(";")]
    media_type = params[0].lower() or None
    if params[-1].lower() != "base64":
        return urllib.parse.unquote_to_bytes(payload), media_type
    problem = f"{kind}(url=...) is a data: URL whose base64 is invalid"
    return _decoded(urllib.parse.unquote(payload), problem), media_type


def _check_family(kind: str, media_type: str) -> None:
    family = media_type.split("/", 1)[0] + "/"
    right = next((k for k, f in _FAMILIES.items() if f == family), "Document")
    if right != kind:
        raise ConfigurationError(f"{kind} given {media_type} content: use {right} for it")


def _as_part(value: Any) -> Any:
    return Text(value) if isinstance(value, str) else value


Part = Annotated[Union[Text, Image, Document, Audio], Field(discriminator="type")]
"""Any content part; in a message's list of parts, a plain string is a Text part."""

PART_TYPES = (Text, Image, Document, Audio)
"""The part classes, for isinstance checks."""

PartItem = Annotated[Part, BeforeValidator(_as_part)]
