"""Where requests go and with which credentials: per-call headers and query parameters,
base URLs with a query string, Azure OpenAI's two URL forms and two ways to
authenticate, Vertex AI's project, express and token modes."""

from __future__ import annotations

import sys
import types
from typing import Any, List

import pytest

import streamchat
from streamchat.credentials import TokenSource
from streamchat.types import ChatRequest, Message


def http_of(client: streamchat.Client, prompt: str = "hi", **options: Any):
    target = client.target(client.request(prompt, **options))
    assert target.endpoint is not None
    return target.wire.build_request(target.request, target.endpoint.with_token())


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION",
                 "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- headers and query ------------------------------------------------------------------

def test_call_headers_merge_over_the_clients_and_the_presets():
    client = streamchat.Client("openrouter", api_key="k",
                               headers={"X-Title": "mine", "X-Trace": "client"})
    http = http_of(client, headers={"X-Trace": "call", "anthropic-beta": "x"})
    assert http.headers["X-Title"] == "mine"      # the Client's over the preset's
    assert http.headers["X-Trace"] == "call"      # the call's over the Client's
    assert http.headers["anthropic-beta"] == "x"


def test_query_from_base_url_client_and_call_all_arrive():
    client = streamchat.Client("openai-compatible", model="m",
                               base_url="https://gw.example/v1?team=a", query={"region": "eu"})
    assert http_of(client, query={"trace": "1"}).url == (
        "https://gw.example/v1/chat/completions?team=a&region=eu&trace=1")


def test_gemini_keeps_alt_sse_beside_the_base_query():
    client = streamchat.Client("gemini", api_key="k",
                               base_url="https://proxy.example/v1beta?tenant=t")
    assert http_of(client).url == (
        "https://proxy.example/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        "?alt=sse&tenant=t")


def test_a_header_that_would_redirect_is_refused():
    client = streamchat.Client("openai", api_key="k")
    with pytest.raises(streamchat.ConfigurationError, match="Host"):
        client.request("hi", headers={"Host": "evil.example"})


def test_call_credentials_never_reach_a_fallbacks_host():
    fallback = streamchat.Client("anthropic", api_key="sk-ant-fallback")
    client = streamchat.Client("openai", api_key="k", fallbacks=[fallback])
    request = client.request("hi", headers={"Authorization": "Bearer per-call-token-123",
                                            "X-Trace": "t"})
    stream = client.stream("hi", headers=dict(request.headers), cancel=None)
    stream.close()
    targets = stream._worker.targets
    assert targets[0].request.headers["Authorization"] == "Bearer per-call-token-123"
    assert targets[1].request.headers == {"X-Trace": "t"}
    http = targets[1].wire.build_request(targets[1].request, targets[1].endpoint)
    assert "per-call-token-123" not in str(dict(http.headers))
    assert http.headers["x-api-key"] == "sk-ant-fallback"


# -- Azure OpenAI -----------------------------------------------------------------------
# https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle

def test_azure_v1_form_with_a_key(clean_env):
    clean_env.setenv("AZURE_OPENAI_API_KEY", "azure-key-1234")
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/")
    http = http_of(streamchat.Client("azure", model="my-gpt"))
    assert http.url == "https://res.openai.azure.com/openai/v1/chat/completions"
    assert http.headers["api-key"] == "azure-key-1234"
    assert "Authorization" not in http.headers
    assert http.json is not None and http.json["model"] == "my-gpt"


def test_azure_deployment_form_with_an_api_version(clean_env):
    clean_env.setenv("OPENAI_API_VERSION", "2024-10-21")
    client = streamchat.Client("azure", model="my-gpt", api_key="azure-key-1234",
                               base_url="https://res.openai.azure.com")
    assert http_of(client).url == ("https://res.openai.azure.com/openai/deployments/my-gpt"
                                   "/chat/completions?api-version=2024-10-21")


def test_azure_responses_forms():
    dated = streamchat.Client("azure-responses", model="dep", api_key="k",
                              base_url="https://res.openai.azure.com",
                              api_version="2025-04-01-preview")
    assert http_of(dated).url == (
        "https://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview")
    v1 = streamchat.Client("azure-responses", model="dep", api_key="k",
                           base_url="https://res.openai.azure.com")
    assert http_of(v1).url == "https://res.openai.azure.com/openai/v1/responses"


def test_azure_entra_token_is_a_bearer_refreshed_when_it_expires(clean_env):
    now = [1000.0]
    issued: List[str] = []

    class AccessToken:
        def __init__(self, token: str, expires_on: float) -> None:
            self.token, self.expires_on = token, expires_on

    def provider() -> AccessToken:
        issued.append(f"entra-token-{len(issued)}")
        return AccessToken(issued[-1], now[0] + 3600)

    client = streamchat.Client("azure", model="dep", base_url="https://res.openai.azure.com",
                               azure_ad_token_provider=provider)
    assert client._endpoint is not None and client._endpoint.token is not None
    client._endpoint.token._clock = lambda: now[0]  # type: ignore[attr-defined]
    first = http_of(client)
    assert first.headers["Authorization"] == "Bearer entra-token-0"
    assert "api-key" not in first.headers
    assert http_of(client).headers["Authorization"] == "Bearer entra-token-0"  # cached
    now[0] += 3600 - 30  # within the margin before expiry
    assert http_of(client).headers["Authorization"] == "Bearer entra-token-1"
    assert len(issued) == 2


def test_a_plain_string_provider_is_asked_every_time():
    calls = []
    source = TokenSource(lambda: calls.append(1) or f"t{len(calls)}")
    assert (source(), source()) == ("t1", "t2")


def test_a_failing_token_provider_is_an_authentication_error():
    def broken() -> str:
        raise RuntimeError("no credential available")

    with pytest.raises(streamchat.AuthenticationError, match="no credential available"):
        TokenSource(broken)()


def test_azure_without_credentials_says_what_to_set(clean_env):
    with pytest.raises(streamchat.ConfigurationError, match="AZURE_OPENAI_API_KEY"):
        streamchat.Client("azure", model="dep", base_url="https://res.openai.azure.com")
    with pytest.raises(streamchat.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        streamchat.Client("azure", model="dep", api_key="k")


# -- Vertex AI --------------------------------------------------------------------------
# https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference

def test_vertex_project_url_and_bearer_from_a_callable(clean_env):
    client = streamchat.Client("vertex", project="proj", location="europe-west4",
                               token_provider=lambda: "ya29.token-abc")
    http = http_of(client)
    assert http.url == (
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/"
        "europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert http.headers["Authorization"] == "Bearer ya29.token-abc"
    assert "x-goog-api-key" not in http.headers


@pytest.mark.parametrize("location,host", [
    ("global", "https://aiplatform.googleapis.com"),
    ("us", "https://aiplatform.us.rep.googleapis.com"),
])
def test_vertex_global_and_multi_region_hosts(clean_env, location, host):
    clean_env.setenv("GOOGLE_CLOUD_PROJECT", "p")
    clean_env.setenv("GOOGLE_CLOUD_LOCATION", location)
    client = streamchat.Client("vertex", token_provider=lambda: "t")
    assert http_of(client).url.startswith(f"{host}/v1/projects/p/locations/{location}/")


def test_vertex_express_mode_sends_the_key_in_a_header(clean_env):
    http = http_of(streamchat.Client("vertex", api_key="AIza-express-key"))
    assert http.url == ("https://aiplatform.googleapis.com/v1/publishers/google/models/"
                        "gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert http.headers["x-goog-api-key"] == "AIza-express-key"
    assert "AIza" not in http.url


def test_vertex_uses_application_default_credentials_and_refreshes(clean_env):
    refreshed = []

    class Credentials:
        quota_project_id = "billing-proj"
        token = None
        valid = False

        def refresh(self, request: Any) -> None:
            refreshed.append(request)
            self.token, self.valid = f"adc-token-{len(refreshed)}", True

    creds = Credentials()
    google = types.ModuleType("google")
    auth = types.ModuleType("google.auth")
    auth.default = lambda scopes: (creds, "adc-project")  # type: ignore[attr-defined]
    exceptions = types.ModuleType("google.auth.exceptions")
    exceptions.DefaultCredentialsError = type("DefaultCredentialsError", (Exception,), {})
    transport = types.ModuleType("google.auth.transport")
    transport_requests = types.ModuleType("google.auth.transport.requests")
    transport_requests.Request = lambda: "google-request"  # type: ignore[attr-defined]
    google.auth, auth.exceptions, auth.transport = auth, exceptions, transport  # type: ignore
    transport.requests = transport_requests  # type: ignore[attr-defined]
    for name, module in {"google": google, "google.auth": auth,
                         "google.auth.exceptions": exceptions,
                         "google.auth.transport": transport,
                         "google.auth.transport.requests": transport_requests}.items():
        clean_env.setitem(sys.modules, name, module)
    client = streamchat.Client("vertex", project="proj")
    first = http_of(client)
    assert first.headers["Authorization"] == "Bearer adc-token-1"
    assert first.headers["x-goog-user-project"] == "billing-proj"
    assert http_of(client).headers["Authorization"] == "Bearer adc-token-1"
    creds.valid = False  # expired
    assert http_of(client).headers["Authorization"] == "Bearer adc-token-2"
    assert refreshed == ["google-request", "google-request"]


def test_vertex_without_google_auth_says_how_to_get_a_token(clean_env):
    clean_env.setitem(sys.modules, "google", None)
    with pytest.raises(streamchat.ConfigurationError, match=r"streamchat\[vertex\]"):
        streamchat.Client("vertex", project="proj")


def test_vertex_needs_a_project_or_a_key(clean_env):
    with pytest.raises(streamchat.ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        streamchat.Client("vertex")


def test_azure_parts_are_refused_elsewhere():
    with pytest.raises(streamchat.ConfigurationError, match="api_version"):
        streamchat.Client("openai", api_key="k", api_version="2024-10-21")


def test_request_headers_are_secrets_too():
    from streamchat.redaction import secrets_of
    from streamchat.target import Target
    from streamchat.wire import openai_chat
    from streamchat.wire.common import Endpoint

    request = ChatRequest(model="m", messages=[Message.user("x")],
                          headers={"x-api-key": "per-call-secret-9"})
    target = Target(provider="p", model="m", wire=openai_chat,  # type: ignore[arg-type]
                    endpoint=Endpoint(provider="p", base_url="http://h"), request=request,
                    transport=None)
    assert "per-call-secret-9" in secrets_of([target], "bearer-token-77")
    assert "bearer-token-77" in secrets_of([target], "bearer-token-77")
