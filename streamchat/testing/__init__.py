"""Test helpers for code that uses streamchat: a fake provider that speaks every wire
format over loopback, the pure renderer behind it, and a helper for `responses` mocks.

The pytest fixture `streamchat_fake` lives in `streamchat.testing.plugin`, registered
through the `pytest11` entry point.
"""

from .mock import add_stream, endpoint_url
from .recording import Headers, RecordedRequest
from .render import Rendered, default_reply, render, render_error
from .script import ERROR_KINDS, WIRES, Script, make_script
from .server import FakeServer

__all__ = [
    "ERROR_KINDS",
    "WIRES",
    "FakeServer",
    "Headers",
    "RecordedRequest",
    "Rendered",
    "Script",
    "add_stream",
    "default_reply",
    "endpoint_url",
    "make_script",
    "render",
    "render_error",
]
