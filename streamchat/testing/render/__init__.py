"""The fake provider's renderer: a Script to the exact bytes each wire format sends.

One module per wire format (named as the adapters in `streamchat.wire` are), the
mechanics they share in `common`, the error vocabulary in `errors`, the wire lookup and
request questions in `registry`, and the entry points in `respond`. Everything here is
pure: no sockets, clocks or randomness.
"""

from .common import (
    CREATED,
    DEFAULT_MODEL,
    SSE_TYPE,
    Rendered,
    default_reply,
    estimate_tokens,
    split_arguments,
    split_text,
)
from .parts import UnreadablePart
from .registry import (
    answer_get,
    answer_post,
    base_path,
    content_type,
    keepalive_frame,
    model_of,
    parts_of,
    prompt_text,
    read_parts,
    wants_stream,
    wire_for_path,
)
from .respond import not_found, render, render_error, render_request

__all__ = [
    "CREATED",
    "DEFAULT_MODEL",
    "SSE_TYPE",
    "Rendered",
    "UnreadablePart",
    "answer_get",
    "answer_post",
    "base_path",
    "content_type",
    "default_reply",
    "estimate_tokens",
    "keepalive_frame",
    "model_of",
    "not_found",
    "parts_of",
    "prompt_text",
    "read_parts",
    "render",
    "render_error",
    "render_request",
    "split_arguments",
    "split_text",
    "wants_stream",
    "wire_for_path",
]
