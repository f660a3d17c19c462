"""`-a/--attach`: files and URLs given on the command line, as the parts of the prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Type, Union

from ..errors import ConfigurationError
from ..types import Audio, Document, Image, Part
from ..types.parts import media_type_for_name, sniff

Kind = Type[Union[Image, Audio, Document]]

_KINDS: Dict[str, Kind] = {"image": Image, "audio": Audio}


def _kind(media_type: Optional[str]) -> Kind:
    family = (media_type or "").split("/", 1)[0]
    return _KINDS.get(family, Document)


def attachment(source: str) -> Part:
    """A path or an http(s) URL as an Image, Audio or Document, by its media type.

    A URL whose path has no telling extension is taken for an image, the common case of
    a picture link.
    """
    if source.startswith(("http://", "https://")):
        media_type = media_type_for_name(source)
        return (_kind(media_type) if media_type else Image)(url=source)
    path = Path(source)
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot attach {source!r}: {exc.strerror or exc}"
        ) from exc
    return _kind(sniff(head) or media_type_for_name(path.name)).from_path(path)


def attachments(sources: Optional[Sequence[str]]) -> List[Part]:
    return [attachment(source) for source in sources or ()]
