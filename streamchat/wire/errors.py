"""Turning a provider's error (an HTTP status with a JSON body, or an error frame inside a
200 stream) into the most specific streamchat exception.

Providers wrap errors differently: OpenAI and its clones `{"error": {"message", "type",
"code"}}`, Anthropic `{"type": "error", "error": {"type", "message"}}`, Gemini the Google
RPC shape, sometimes inside a JSON array, Ollama `{"error": "text"}`. One reader handles
them all, so every adapter reports errors the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Type

from ..errors import (
    AuthenticationError,
    ContextOverflowError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamChatError,
)

_CONTEXT_OVERFLOW = re.compile(
    r"context_length_exceeded|context length|maximum context|prompt is too long"
    r"|too many tokens|input token count.*exceeds|exceeds the maximum number of tokens"
    r"|request too large for model|reduce the length of the messages"
    r"|string_above_max_length|input is too long"
    # NOTE: LiteLLM names the class it raised in the message: ContextWindowExceededError
    # (https://docs.litellm.ai/docs/exception_mapping), whatever the upstream's words.
    r"|context_?window_?exceeded",
    re.IGNORECASE,
)

_NOT_CHAT_MODEL = re.compile(
    r"not a chat model|only supported in v1/responses|not accessible via the /chat/completions",
    re.IGNORECASE,
)

_STATUS_ERRORS: Dict[int, Type[StreamChatError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: ServerError,
    409: ServerError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    529: OverloadedError,
}

_TYPE_ERRORS: Dict[str, Type[StreamChatError]] = {
    "overloaded_error": OverloadedError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "resource_exhausted": RateLimitError,
    "insufficient_quota": RateLimitError,
    "api_error": ServerError,
    "server_error": ServerError,
    "internal": ServerError,
    "unavailable": ServerError,
    "internal_server_error": ServerError,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "unauthenticated": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "not_found": NotFoundError,
    "invalid_request_error": InvalidRequestError,
    "invalid_argument": InvalidRequestError,
    "request_too_large": InvalidRequestError,
}

_ADVICE: Dict[Type[StreamChatError], str] = {
    AuthenticationError: "check the API key",
    PermissionDeniedError: "check that the key may use this model",
    NotFoundError: "check the model name and base_url",
    InvalidRequestError: "fix the request; retrying will not help",
    ContextOverflowError: "shorten the conversation or use a model with a larger context",
    # Whether streamchat retries depends on the policy and on what was already shown, which
    # the worker knows and says (see worker.py); the advice only says what the failure is.
    RateLimitError: "slow down or wait before trying again",
    OverloadedError: "the provider is busy; try again shortly",
    ServerError: "the provider failed; try again shortly",
}


def parse_error_body(body: Any) -> Dict[str, Any]:
    """Find message, type, code and retry delay in any provider's error body."""
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(_sse_data(text))
        except ValueError:
            return {"message": text.strip()[:500] or None}
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, Mapping):
        return {"message": None}
    error: Any = body.get("error", body)
    if isinstance(error, str):
        return {"message": error, "type": body.get("type"), "code": body.get("code")}
    if not isinstance(error, Mapping):
        return {"message": None}
    info: Dict[str, Any] = {
        "message": error.get("message") or body.get("message"),
        "type": error.get("type") or error.get("status"),
        "code": error.get("code"),
        "param": error.get("param"),
    }
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and "retryDelay" in detail:
            info["retry_after"] = _seconds(detail["retryDelay"])
    return info


def _sse_data(text: str) -> str:
    """The data of the first event when an error body is framed as server-sent events
    (some servers answer a streaming request's failure in the framing it asked for);
    any other text as it is."""
    if not text.lstrip().startswith(("data:", "event:", ":")):
        return text
    lines: List[str] = []
    for line in text.splitlines():
        if not line.strip():
            if lines:
                break
        elif line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
    return "\n".join(lines)


def _status_of(code: Any) -> Optional[int]:
    """An error code that is an HTTP status, as a number (OpenRouter) or as digits
    (LiteLLM's proxy); None for a word such as "rate_limit_exceeded"."""
    if isinstance(code, bool):
        return None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if isinstance(code, int) and 400 <= code <= 599 else None


def _seconds(value: Any) -> Optional[float]:
    """Google's Duration strings ("30s", "1.5s") and plain numbers to seconds."""
    try:
        seconds = float(str(value).rstrip("s"))
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def is_not_chat_model_error(body: Any) -> bool:
    """True when a Chat Completions error says the model needs the Responses API."""
    return _needs_responses_api(parse_error_body(body))


def _needs_responses_api(info: Mapping[str, Any]) -> bool:
    words = " ".join(str(info.get(k) or "") for k in ("message", "code"))
    return bool(_NOT_CHAT_MODEL.search(words)) or info.get("code") == "unsupported_api_for_model"


def error_class(status: Optional[int], info: Mapping[str, Any]) -> Type[StreamChatError]:
    """The most specific class: context overflow by its words, then a telling status,
    then the provider's error type (all an in-stream error or a plain 400 has)."""
    words = " ".join(str(info.get(k) or "") for k in ("message", "type", "code"))
    if _CONTEXT_OVERFLOW.search(words):
        return ContextOverflowError
    if status is None:
        # NOTE: after a 200 the status is in the error itself: OpenRouter's error.code is
        # the HTTP status (https://openrouter.ai/docs/api/reference/errors-and-debugging).
        status = _status_of(info.get("code"))
    if status is not None and status != 400:
        if status in _STATUS_ERRORS:
            return _STATUS_ERRORS[status]
        if status >= 500:
            return ServerError
    for key in (info.get("code"), info.get("type")):
        if isinstance(key, str) and key.lower() in _TYPE_ERRORS:
            return _TYPE_ERRORS[key.lower()]
    if status is not None and status >= 400:
        return InvalidRequestError
    return ServerError


def error_from_response(
    provider: str,
    status: int,
    body: Any,
    *,
    endpoint: str = "",
    request_id: Optional[str] = None,
    retry_after: Optional[float] = None,
) -> StreamChatError:
    """The exception for a non-2xx response."""
    info = parse_error_body(body)
    cls = error_class(status, info)
    where = f" from {endpoint}" if endpoint else ""
    quoted = f": {info['message']}" if info.get("message") else ""
    advice = _ADVICE.get(cls, "see .body")
    if _needs_responses_api(info):
        # NOTE: OpenAI answers 404 "This is not a chat model" for Responses-only models.
        advice = "this model is served by the Responses API: use provider 'openai-responses'"
    message = f"{provider} returned HTTP {status}{where}{quoted} ({advice})"
    return cls(
        message,
        provider=provider,
        status_code=status,
        body=body,
        request_id=request_id,
        retry_after=retry_after if retry_after is not None else info.get("retry_after"),
    )


def error_from_payload(provider: str, payload: Any) -> StreamChatError:
    """The exception for an error frame that arrived inside a successful stream."""
    info = parse_error_body(payload)
    cls = error_class(None, info)
    label = info.get("type") or info.get("code") or "error"
    message = (
        f"{provider} reported {label} in the middle of the stream: "
        f"{info.get('message') or payload!r} ({_ADVICE.get(cls, 'see .body')})"
    )
    return cls(
        message, provider=provider, body=payload, retry_after=info.get("retry_after")
    )
