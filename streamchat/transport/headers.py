"""What the response headers say beyond the status: how long the server wants us to
wait, the request id a provider's support will ask for, and where the key stands
against its rate limits."""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import re
import time
from typing import Dict, Mapping, Optional, Tuple

from ..types import RateLimit

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-litellm-call-id",
                      "cf-ray")
"""NOTE: LiteLLM's proxy names each call, errors included, in `x-litellm-call-id`: the id
its logs are searched by (https://docs.litellm.ai/docs/proxy/logging)."""


RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "llm_provider-retry-after-ms")
RETRY_AFTER_HEADERS = ("retry-after", "llm_provider-retry-after")
"""Where servers say how long to wait, most precise first. NOTE: LiteLLM's proxy passes
the upstream provider's headers on with an `llm_provider-` prefix
(https://docs.litellm.ai/docs/proxy/response_headers); `retry-after-ms` is OpenAI's."""


def retry_after_seconds(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """The server's requested wait, from milliseconds, seconds or an HTTP date.

    A value that is negative, not a number, infinite or a date already past is no hint
    at all (None), so the retry waits its own backoff, with the rate-limit floor, rather
    than not at all.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in RETRY_AFTER_MS_HEADERS:
        millis = _wait(lowered.get(name))
        if millis is not None:
            return millis / 1000
    for name in RETRY_AFTER_HEADERS:
        value = lowered.get(name)
        if not value:
            continue
        seconds = _wait(value)
        if seconds is None:
            seconds = _wait_until(value, time.time() if now is None else now)
        if seconds is not None:
            return seconds
    return None


def _wait(value: Optional[str]) -> Optional[float]:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < math.inf else None


def _wait_until(value: str, now: float) -> Optional[float]:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    left = when.timestamp() - now
    return left if left > 0 else None


def request_id_of(headers: Mapping[str, str]) -> Optional[str]:
    """The provider's id for the request, from the first header that carries one."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


_RATE_LIMIT_HEADERS: Tuple[Tuple[str, str, str, str], ...] = (
    # (field prefix, limit, remaining, reset) header names, the first family present wins.
    # NOTE: OpenAI and Groq: resets are durations such as "1s", "6m0s", "2m59.56s", "20ms".
    # https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
    # https://console.groq.com/docs/rate-limits#handling-rate-limits
    ("requests", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
     "x-ratelimit-reset-requests"),
    ("tokens", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
     "x-ratelimit-reset-tokens"),
    # NOTE: Anthropic: resets are RFC 3339 times.
    # https://docs.anthropic.com/en/api/rate-limits#response-headers
    ("requests", "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
     "anthropic-ratelimit-requests-reset"),
    ("tokens", "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining",
     "anthropic-ratelimit-tokens-reset"),
    # NOTE: OpenRouter: one request allowance, its reset a Unix time in milliseconds.
    # https://openrouter.ai/docs/api-reference/limits
    ("requests", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),
)

_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ms|h|m|s)")


def rate_limit_of(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[RateLimit]:
    """The rate-limit state the headers report, or None when they report none.

    `now` (a Unix time) is when the response arrived; resets given as times become
    seconds from then.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    fields: Dict[str, object] = {}
    for prefix, limit, remaining, reset in _RATE_LIMIT_HEADERS:
        if f"{prefix}_limit" in fields or f"{prefix}_remaining" in fields:
            continue
        values = (_integer(lowered.get(limit)), _integer(lowered.get(remaining)),
                  _seconds(lowered.get(reset), now))
        if values == (None, None, None):
            continue
        fields.update(zip((f"{prefix}_limit", f"{prefix}_remaining", f"{prefix}_reset"), values))
    return RateLimit.model_validate(fields) if fields else None


def rate_limit_in_body(text: str, now: Optional[float] = None) -> Optional[RateLimit]:
    """The rate-limit state an error body quotes, where the headers had none.

    NOTE: OpenRouter relays a 429 from its own limits with the rate-limit headers inside
    the body, as `error.metadata.headers` (https://openrouter.ai/docs/api-reference/errors).
    """
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    metadata = error.get("metadata") if isinstance(error, dict) else None
    headers = metadata.get("headers") if isinstance(metadata, dict) else None
    if not isinstance(headers, dict):
        return None
    return rate_limit_of({str(k): str(v) for k, v in headers.items()}, now)


def _integer(value: Optional[str]) -> Optional[int]:
    try:
        return int(float(value)) if value else None
    except (ValueError, OverflowError):  # not a number, or infinite
        return None


def _seconds(value: Optional[str], now: Optional[float]) -> Optional[float]:
    """A reset as seconds from now: a duration ("6m0s"), a count of seconds, a Unix time
    in seconds or milliseconds, or an RFC 3339 time."""
    if not value:
        return None
    value = value.strip()
    clock = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            return None
        if number > 1e11:  # a Unix time in milliseconds
            return max(0.0, number / 1000 - clock)
        if number > 1e9:  # a Unix time in seconds
            return max(0.0, number - clock)
        return max(0.0, number)
    pieces = _DURATION.findall(value)
    if pieces and "".join(n + u for n, u in pieces) == value:
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        return sum(float(n) * scale[u] for n, u in pieces)
    when = _rfc3339(value)
    return None if when is None else max(0.0, when - clock)


def _rfc3339(value: str) -> Optional[float]:
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    # Python 3.9's fromisoformat takes at most six fractional digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def is_whole_json(headers: Mapping[str, str]) -> bool:
    """True when the answer is one JSON document, whatever was asked for: a proxy that
    buffers, a server that ignores `stream`, an error sent as plain JSON."""
    kind = str(headers.get("content-type") or headers.get("Content-Type") or "")
    return kind.split(";", 1)[0].strip().lower() == "application/json"
