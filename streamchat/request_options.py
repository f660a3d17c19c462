"""The request controls a caller may set on a Client (as defaults for every call) and per
call, in one vocabulary for every provider.

Each wire maps a control to its provider's own field or refuses it with a
ConfigurationError before anything is sent (streamchat.wire.controls; the table is in
docs/request-options.rst). Names are checked at run time as well, since `**controls`
would otherwise let a typo pass without effect.
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Mapping, Optional, Union

from typing_extensions import TypedDict

from .errors import ConfigurationError
from .redaction import CREDENTIAL_HEADERS


class Controls(TypedDict, total=False):
    """Sampling and request controls; each may be given to `Client(...)` or to one call."""

    stop: Union[str, List[str], None]
    top_p: Optional[float]
    top_k: Optional[int]
    seed: Optional[int]
    presence_penalty: Optional[float]
    frequency_penalty: Optional[float]
    parallel_tool_calls: Optional[bool]
    logprobs: Optional[bool]
    top_logprobs: Optional[int]
    service_tier: Optional[str]
    metadata: Optional[Dict[str, str]]
    store: Optional[bool]


CONTROL_NAMES = tuple(Controls.__annotations__)

_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
"""Headers that would change where or how the body goes, not what it says."""


def check_controls(given: Mapping[str, Any], where: str) -> Dict[str, Any]:
    """The controls given, or a clear error for a name that is not one."""
    for name in given:
        if name not in CONTROL_NAMES:
            close = difflib.get_close_matches(name, CONTROL_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"{where} got an unknown option {name!r}{hint}")
    return dict(given)


def merge_controls(defaults: Mapping[str, Any], call: Mapping[str, Any]) -> Dict[str, Any]:
    """The call's values over the Client's; None means 'not set here'."""
    values = {k: v for k, v in defaults.items() if v is not None}
    values.update({k: v for k, v in call.items() if v is not None})
    return values


def check_headers(headers: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Per-call headers, refusing those that would redirect or reframe the request."""
    checked = dict(headers or {})
    for name in checked:
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigurationError(
                f"the header {name!r} cannot be set per call: it decides where and how the "
                "request is sent; set base_url on the Client instead"
            )
    return checked


def without_credentials(headers: Mapping[str, str]) -> Dict[str, str]:
    """A call's headers minus credentials, for the fallbacks of a chain: a key given for
    one provider is never sent to another provider's host."""
    return {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
