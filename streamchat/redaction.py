"""Keeping API keys out of everything a stream hands back.

Some servers quote the key they rejected in their error message; the worker masks every
key of a stream in its errors (and their causes) before they reach an event, a log or
the caller.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Set

from .errors import StreamChatError
from .target import Target

MIN_SECRET_LENGTH = 8
"""Shorter keys ("ollama", "EMPTY") guard nothing, and masking them would garble text."""
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})
MASK = "[redacted]"


def secrets_of(targets: Sequence[Target], *tokens: Optional[str]) -> List[str]:
    """The keys a stream sends: its API keys, the values of credential headers (the
    Client's and the call's) and any bearer `tokens` fetched for it."""
    values: List[Optional[str]] = list(tokens)
    for target in targets:
        endpoint = target.endpoint
        if endpoint is None:
            continue
        headers = {**endpoint.headers, **target.request.headers}
        values.append(endpoint.api_key)
        values.extend(v for k, v in headers.items() if k.lower() in CREDENTIAL_HEADERS)
    found: Set[str] = set()
    for value in values:
        if value:
            found.update((value, value.split(" ", 1)[-1]))
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _masked(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v, secrets) for v in value)
    return value


def redact(exc: BaseException, secrets: Sequence[str]) -> None:
    """Mask keys in an error and its causes before it reaches an event, a log or the
    caller: some servers quote the key they rejected in their error message."""
    seen: Set[int] = set()
    current: Optional[BaseException] = exc
    while secrets and current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(_masked(arg, secrets) for arg in current.args)
        if isinstance(current, StreamChatError):
            current.message = _masked(current.message, secrets)
            current.body = _masked(current.body, secrets)
        current = current.__cause__ or current.__context__
