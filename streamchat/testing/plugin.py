"""pytest plugin: the `streamchat_fake` fixture, registered through the `pytest11` entry
point so that installing streamchat is enough to use it.

The fixture starts a FakeServer for one test and gives a Client pointed at it. Choose the
wire format with indirect parametrization::

    @pytest.mark.parametrize("streamchat_fake", ["anthropic", "gemini"], indirect=True)
    def test_answer(streamchat_fake): ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

import pytest

from .render import DEFAULT_MODEL
from .script import Script
from .server import FakeServer

if TYPE_CHECKING:
    from ..client import Client

FAKE_KEY = "sk-test"


class FakeProvider:
    """A started FakeServer and the Clients that talk to it; closed by the fixture."""

    def __init__(self, server: FakeServer, wire: str = "openai") -> None:
        self.server = server
        self.wire = wire
        self._clients: Dict[str, Client] = {}
        self._extra: List[Client] = []

    @property
    def client(self) -> Client:
        """A Client for this fixture's wire format (openai unless parametrized)."""
        return self.client_for(self.wire)

    def client_for(self, wire: str, **options: Any) -> Client:
        """A Client of `wire` pointed at the fake; options go to `streamchat.Client`."""
        if not options and wire in self._clients:
            return self._clients[wire]
        # Imported here so that the plugin loads even where streamchat itself is broken:
        # a plugin that fails to import would break every pytest run in the environment.
        from ..client import Client

        settings: Dict[str, Any] = {"model": DEFAULT_MODEL, "api_key": FAKE_KEY,
                                    "base_url": self.server.base_url(wire)}
        settings.update(options)
        client = Client(wire, **settings)
        if options:
            self._extra.append(client)
        else:
            self._clients[wire] = client
        return client

    def enqueue(self, script: Optional[Script] = None, **fields: Any) -> Script:
        """Queue the next response (see `FakeServer.enqueue`)."""
        return self.server.enqueue(script, **fields)

    def close(self) -> None:
        for client in [*self._clients.values(), *self._extra]:
            client.close()
        self.server.close()


@pytest.fixture
def streamchat_fake(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A FakeServer for this test with a matching Client (`.server`, `.client`,
    `.client_for(wire)`, `.enqueue(...)`)."""
    wire = getattr(request, "param", "openai")
    provider = FakeProvider(FakeServer().start(), wire)
    try:
        yield provider
    finally:
        provider.close()
