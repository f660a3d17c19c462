"""The fake's error vocabulary: which kind of failure an HTTP status stands for, and what
each provider calls that kind.

One table for every wire, because a test that scripts "a 429" or "an overloaded error"
should get the same failure in five dialects; each wire module only decides how its
error body and in-stream error frames are shaped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Mapping, Optional


@dataclass(frozen=True)
class ErrorInfo:
    """One kind of failure, in each provider family's words."""

    message: str
    openai_type: str
    openai_code: Optional[str]
    anthropic_type: str
    google_status: str
    google_code: int


KIND_INFO: Dict[str, ErrorInfo] = {
    "overloaded": ErrorInfo("The model is overloaded. Please try again later.",
                            "server_error", None, "overloaded_error", "UNAVAILABLE", 503),
    "server_error": ErrorInfo("The server had an error while processing your request.",
                              "server_error", None, "api_error", "INTERNAL", 500),
    "rate_limit": ErrorInfo("Rate limit reached. Please try again in 1s.",
                            "requests", "rate_limit_exceeded", "rate_limit_error",
                            "RESOURCE_EXHAUSTED", 429),
    "invalid_request": ErrorInfo("Invalid request: the fake provider was told to reject it.",
                                 "invalid_request_error", None, "invalid_request_error",
                                 "INVALID_ARGUMENT", 400),
    "context_overflow": ErrorInfo(
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130000 tokens. Please reduce the length of the messages.",
        "invalid_request_error", "context_length_exceeded", "invalid_request_error",
        "INVALID_ARGUMENT", 400),
}

_STATUS_KIND = {400: "invalid_request", 408: "server_error", 409: "server_error",
                413: "invalid_request", 422: "invalid_request", 429: "rate_limit",
                503: "overloaded", 529: "overloaded"}


def kind_info(kind: str) -> ErrorInfo:
    """The info of an in-stream error kind; a custom payload counts as overloaded."""
    return KIND_INFO.get(kind, KIND_INFO["overloaded"])


def status_info(
    status: int,
    model: str,
    message: Optional[str],
    wire_messages: Mapping[str, str],
    not_found: Optional[str],
) -> ErrorInfo:
    """What an error response with this status says, in the wire's words where it has its
    own (`wire_messages` by kind; `not_found`, a template with `{model}`, for a 404)."""
    kind = _STATUS_KIND.get(status, "server_error" if status >= 500 else "invalid_request")
    special: Dict[int, ErrorInfo] = {
        401: ErrorInfo("Incorrect API key provided. You can find your API key in your account "
                       "settings.", "invalid_request_error", "invalid_api_key",
                       "authentication_error", "UNAUTHENTICATED", 401),
        403: ErrorInfo("Your key is not allowed to use this model.", "invalid_request_error",
                       "permission_denied", "permission_error", "PERMISSION_DENIED", 403),
        404: ErrorInfo(f"The model `{model}` does not exist or you do not have access to it.",
                       "invalid_request_error", "model_not_found", "not_found_error",
                       "NOT_FOUND", 404),
    }
    info = special.get(status, KIND_INFO[kind])
    text = message or wire_messages.get(kind, info.message)
    if message is None and status == 404 and not_found is not None:
        text = not_found.format(model=model)
    if message is None and status == 529:
        text = "Overloaded"
    return replace(info, message=text, google_code=status)
