"""One exception tree for every failure, so callers catch by meaning, not by provider.

Each error carries what a caller needs to decide what to do next: the provider, the HTTP
status and body where there was one, the request id to quote to support, the server's
suggested wait, and `.partial`, the response built from everything that arrived first.
`retryable` tells the retry layer which failures are worth another attempt.

This is the lowest module of the package: the types raise these errors for bad input (a
part whose media type cannot be known), so nothing here imports the types; `.partial` is
a `streamchat.ChatResponse`.
"""

from __future__ import annotations

from typing import Any, List, NoReturn, Optional


class StreamChatError(Exception):
    """Base of every streamchat error."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: Optional[str] = None,
        status_code: Optional[int] = None,
        body: Any = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        partial: Any = None,
        rate_limit: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.retry_after = retry_after
        self.partial = partial
        self.rate_limit = rate_limit
        """The key's rate-limit state from the error response's headers, where sent."""
        self.errors: List[StreamChatError] = []
        """When a fallback chain failed: each provider's own error, in the order tried
        (this one's message then says what each did)."""
        self.reported: List[Any] = []
        """Events the failing frame itself carried (an error chunk's usage and served
        model): the worker delivers them before the error, so `.partial` keeps them."""

    def __str__(self) -> str:
        parts = [self.message]
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)


class ConfigurationError(StreamChatError, ValueError):
    """Bad arguments: unknown provider, missing key, invalid option."""


class AuthenticationError(StreamChatError):
    """401: the key is missing, wrong or revoked."""


class PermissionDeniedError(StreamChatError):
    """403: the key may not use this model or endpoint."""


class NotFoundError(StreamChatError):
    """404: unknown model or endpoint."""


class InvalidRequestError(StreamChatError):
    """400 or 422: the provider rejected the request as malformed."""


class ContextOverflowError(InvalidRequestError):
    """The prompt does not fit the model's context window."""


class ContentFilterError(InvalidRequestError):
    """The provider refused the prompt or the answer on safety grounds."""


class RateLimitError(StreamChatError):
    """429: too many requests or tokens; `.retry_after` says how long to wait if known,
    `.rate_limit` which allowance ran out."""

    retryable = True


class OverloadedError(StreamChatError):
    """529 or an in-stream overloaded error: the provider is busy."""

    retryable = True


class ServerError(StreamChatError):
    """5xx (and 408, 409): the provider failed; usually worth another attempt."""

    retryable = True


class StreamTimeoutError(StreamChatError):
    """A deadline passed. `.phase` is connect, first_token, idle or total."""

    def __init__(self, message: str, *, phase: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.phase = phase
        # A stalled connect or a model that never starts is worth retrying;
        # an idle or total timeout happens after output reached the caller or
        # after the caller's whole budget, so another attempt would not help.
        self.retryable = phase in ("connect", "first_token")


class ConnectionFailedError(StreamChatError):
    """The connection could not be made or broke before the answer started."""

    retryable = True


class ProtocolError(StreamChatError):
    """The stream was malformed or ended before its terminal event."""

    retryable = True


class TurnInProgressError(StreamChatError, RuntimeError):
    """A conversation turn was started while another one is still streaming."""


class StreamInUseError(StreamChatError, RuntimeError):
    """A second thread began iterating a Stream that another thread is iterating."""


class OutputValidationError(StreamChatError, ValueError):
    """Structured output did not match the requested schema; `.raw_text` keeps the answer."""

    def __init__(self, message: str, *, raw_text: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.raw_text = raw_text


def add_note(error: StreamChatError, note: str) -> None:
    """Say why a retryable failure reached the caller after all."""
    error.message = f"{error.message}; {note}"
    error.args = (error.message,)


def raise_failures(failures: List[StreamChatError]) -> NoReturn:
    """Raise what ended a stream: the one provider's error, or for a fallback chain the
    error that says what every provider did (see `chain_failure`)."""
    if len(failures) > 1:
        raise chain_failure(failures) from failures[-1]
    raise failures[-1]


def chain_failure(failures: List[StreamChatError]) -> StreamChatError:
    """The error a fallback chain ends with: the last failure's kind (so callers catch it
    by meaning as usual), saying what every provider did, with each error in `.errors`.
    A copy, so that the last provider's own error stays as it was in `.errors`."""
    last = failures[-1]
    tried = "; ".join(f"{n}. {e.provider}: {e}" for n, e in enumerate(failures, 1))
    message = f"all {len(failures)} providers tried failed: {tried}"
    error = type(last).__new__(type(last))
    error.__dict__.update(last.__dict__)
    error.args = (message,)
    error.message = message
    error.request_id = None  # each provider's own is in its error's message
    error.errors = list(failures)
    return error
