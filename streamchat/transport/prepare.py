"""Turning an HttpRequest into what requests' adapter sends, at a cost that stays small
beside the time to the first event.

`requests.Request(...).prepare()` and `requests.utils.get_environ_proxies()` together
cost about half a millisecond per request, more than a first event takes to arrive over
loopback: the first builds an empty cookie jar and asks it for a Cookie header, and the
second reads the whole environment twice. A stream sends no cookies, so the jar is left
out; the URL is parsed once per URL, and the proxies are looked up once per URL for as
long as the variables that choose them keep their values. On macOS and Windows, where
urllib falls back to the system's proxy settings when no variable is set, a change to
those settings reaches a Client made after it.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Tuple

from requests.models import PreparedRequest
from requests.utils import get_environ_proxies

PROXY_VARIABLES = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUEST_METHOD",
)
"""What requests reads to choose a proxy for an http(s) URL (urllib ignores HTTP_PROXY
when REQUEST_METHOD says it runs under CGI)."""
_MAX_CACHED = 64


class Preparer:
    """Prepared requests for one Transport, with its URLs and proxies remembered."""

    def __init__(self) -> None:
        self._urls: Dict[str, str] = {}
        self._proxies: Dict[Tuple[str, Tuple[Optional[str], ...]], Dict[str, str]] = {}

    def request(
        self, method: str, url: str, headers: Mapping[str, str], json: Any
    ) -> PreparedRequest:
        """What `requests.Request(method, url, headers=headers, json=json).prepare()`
        gives, the same headers checked the same way, without a cookie jar."""
        prepared = PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = self._url(url)
        prepared.prepare_headers(headers)
        prepared.prepare_body(None, None, json)
        return prepared

    def proxies(self, url: str) -> Dict[str, str]:
        """`get_environ_proxies(url)`, looked up again only when a variable changes."""
        key = (url, tuple(map(os.environ.get, PROXY_VARIABLES)))
        found = self._proxies.get(key)
        if found is None:
            found = get_environ_proxies(url)
            _remember(self._proxies, key, found)
        return found

    def _url(self, url: str) -> str:
        prepared = self._urls.get(url)
        if prepared is None:
            scratch = PreparedRequest()
            scratch.prepare_url(url, None)  # raises requests' own errors for a bad URL
            prepared = scratch.url or url
            _remember(self._urls, url, prepared)
        return prepared


def _remember(cache: Dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _MAX_CACHED:
        cache.clear()  # URLs that keep changing (a query per call) must not pile up
    cache[key] = value


__all__ = ["PROXY_VARIABLES", "Preparer"]
