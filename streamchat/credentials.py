"""Bearer tokens that expire: Azure Entra ID tokens and Google Cloud access tokens.

A key is a constant; a token is asked for again when it runs out. `TokenSource` wraps the
caller's provider so that every attempt of every stream (and `models()`, `count_tokens()`)
sends a token that is still good, fetched at most once at a time however many threads ask.
Google's application default credentials are loaded here, and google-auth imported here
only, when the `streamchat[vertex]` extra is installed.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from .errors import AuthenticationError, ConfigurationError, StreamChatError

TokenProvider = Callable[[], Any]
"""Returns a bearer token: a string, or an object with `.token` and `.expires_on` (epoch
seconds, as azure-identity's AccessToken has)."""

EXPIRY_MARGIN = 60.0
"""Seconds before its stated expiry a token is replaced, so none expires in flight."""

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class TokenSource:
    """Hands out a current token from a provider, refreshing it when it expires.

    A provider that returns a plain string states no expiry, so it is asked every time
    (azure-identity's `get_bearer_token_provider` caches and refreshes on its own); one
    that returns an object with `expires_on` is asked again only near that time.
    """

    def __init__(self, provider: TokenProvider, *, clock: Callable[[], float] = time.time) -> None:
        if not callable(provider):
            raise ConfigurationError(
                f"a token provider must be a callable returning a token, not {provider!r}"
            )
        self._provider = provider
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires_on: Optional[float] = None

    def __repr__(self) -> str:
        return f"TokenSource({getattr(self._provider, '__name__', 'provider')})"

    def __call__(self) -> str:
        with self._lock:
            if (
                self._token is not None
                and self._expires_on is not None
                and self._clock() < self._expires_on - EXPIRY_MARGIN
            ):
                return self._token
            try:
                value = self._provider()
            except StreamChatError:
                raise
            except Exception as exc:
                raise AuthenticationError(
                    f"the token provider failed: {exc!r}; check the credentials it uses"
                ) from exc
            token = getattr(value, "token", value)
            if not isinstance(token, str) or not token:
                raise ConfigurationError(
                    "the token provider returned no token: it must return a non-empty string "
                    "or an object with a .token string"
                )
            expires = getattr(value, "expires_on", None)
            self._token = token
            self._expires_on = float(expires) if isinstance(expires, (int, float)) else None
            return token


class GoogleCredentials:
    """A token provider over google-auth credentials: refreshed when no longer valid."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if not self.credentials.valid:
                # google-auth's own transport; it refreshes through requests.
                from google.auth.transport.requests import Request

                self.credentials.refresh(Request())
            return str(self.credentials.token)


def application_default_credentials() -> Any:
    """google-auth's application default credentials and their project, or a clear error
    when the `vertex` extra is not installed."""
    try:
        import google.auth
        import google.auth.exceptions
    except ImportError:
        raise ConfigurationError(
            "vertex needs a bearer token: pip install 'streamchat[vertex]' to use Google "
            "application default credentials, or pass token_provider=a callable returning "
            "an access token, or api_key=... for Vertex express mode"
        ) from None
    try:
        return google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigurationError(
            f"no Google application default credentials ({exc}); run `gcloud auth "
            "application-default login`, or pass token_provider=... or api_key=..."
        ) from exc
