"""Client configuration, presets and the exact requests they send (through `responses`)."""

import json

import pytest
import responses

import streamchat
from streamchat.providers import presets

KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
            "XAI_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY",
            "OPENCODE_API_KEY",
            "VLLM_API_KEY", "OPENAI_COMPATIBLE_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST",
            "ANTHROPIC_BASE_URL"]
SSE_OK = (b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n'
          b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
          b"data: [DONE]\n\n")
SECRET = "sk-live-DO-NOT-LEAK-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)


def test_unknown_provider_names_the_known_ones_and_a_close_match():
    with pytest.raises(streamchat.ConfigurationError) as info:
        streamchat.Client("opnai")
    assert "Did you mean 'openai'" in str(info.value)
    assert "anthropic" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("provider, variable", [
    ("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"),
    ("gemini", "GEMINI_API_KEY or GOOGLE_API_KEY"), ("groq", "GROQ_API_KEY"),
    ("xai", "XAI_API_KEY"), ("openrouter", "OPENROUTER_API_KEY"),
    ("deepseek", "DEEPSEEK_API_KEY"), ("opencode", "OPENCODE_API_KEY"),
])
def test_missing_key_names_the_variable_to_set(provider, variable):
    with pytest.raises(streamchat.ConfigurationError, match=variable):
        streamchat.Client(provider)


def test_provider_and_model_in_one_string():
    client = streamchat.Client("groq:llama-3.3-70b", api_key="k")
    assert (client.provider, client.model) == ("groq", "llama-3.3-70b")
    assert streamchat.Client("groq:a", model="b", api_key="k").model == "b"


def test_openai_compatible_needs_a_base_url():
    with pytest.raises(streamchat.ConfigurationError, match="needs a base_url"):
        streamchat.Client("openai-compatible", model="m")


def test_codex_models_switch_to_the_responses_api_by_themselves():
    codex = streamchat.Client("openai", model="gpt-5-codex", api_key="k")
    assert codex.wire_id == "openai-responses"
    assert streamchat.Client("openai", model="gpt-4.1", api_key="k").wire_id == "openai"


PRESET_CASES = [
    ("openai", "https://api.openai.com/v1/chat/completions", "Authorization", f"Bearer {SECRET}"),
    ("xai", "https://api.x.ai/v1/chat/completions", "Authorization", f"Bearer {SECRET}"),
    ("groq", "https://api.groq.com/openai/v1/chat/completions", "Authorization",
     f"Bearer {SECRET}"),
    ("openrouter", "https://openrouter.ai/api/v1/chat/completions", "Authorization",
     f"Bearer {SECRET}"),
    ("deepseek", "https://api.deepseek.com/v1/chat/completions", "Authorization",
     f"Bearer {SECRET}"),
    ("opencode", "https://opencode.ai/zen/v1/chat/completions", "Authorization",
     f"Bearer {SECRET}"),
    ("vllm", "http://localhost:8000/v1/chat/completions", "Authorization", f"Bearer {SECRET}"),
    ("llamacpp", "http://localhost:8080/v1/chat/completions", "Authorization", f"Bearer {SECRET}"),
    ("lmstudio", "http://localhost:1234/v1/chat/completions", "Authorization", f"Bearer {SECRET}"),
]


@pytest.mark.parametrize("provider, url, header, value", PRESET_CASES)
@responses.activate
def test_each_openai_compatible_preset_sends_the_right_request(provider, url, header, value):
    responses.add(responses.POST, url, body=SSE_OK, content_type="text/event-stream")
    client = streamchat.Client(provider, model="some-model", api_key=SECRET,
                               retry=streamchat.RetryPolicy(max_attempts=1))
    assert client.complete("hello", max_tokens=7).text == "ok"
    sent = responses.calls[0].request
    assert sent.url == url
    assert sent.headers[header] == value
    body = json.loads(sent.body)
    assert body["model"] == "some-model"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["stream"] is True
    assert 7 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    assert SECRET not in sent.url
    assert SECRET not in repr(client)


@responses.activate
def test_preset_headers_and_user_headers_are_sent():
    responses.add(responses.POST, "https://openrouter.ai/api/v1/chat/completions", body=SSE_OK)
    client = streamchat.Client("openrouter", model="m", api_key="k",
                               headers={"HTTP-Referer": "https://example.org"})
    client.complete("hi")
    sent = responses.calls[0].request.headers
    assert sent["X-Title"] == "streamchat"
    assert sent["HTTP-Referer"] == "https://example.org"
    assert sent["User-Agent"].startswith("streamchat/")


@responses.activate
def test_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.internal/openai/v1/")
    responses.add(responses.POST, "http://proxy.internal/openai/v1/chat/completions", body=SSE_OK)
    streamchat.Client("openai", model="m", api_key="k").complete("hi")
    assert len(responses.calls) == 1


@pytest.mark.parametrize("host, url", [
    ("gpu-box:11500", "http://gpu-box:11500/api/chat"),
    ("0.0.0.0", "http://0.0.0.0:11434/api/chat"),
    ("https://ollama.example", "https://ollama.example/api/chat"),
])
def test_ollama_host_forms(monkeypatch, host, url):
    monkeypatch.setenv("OLLAMA_HOST", host)
    client = streamchat.Client("ollama", model="llama3.2")
    target = client.target(client.request("hi"))
    assert target.wire.build_request(target.request, target.endpoint).url == url


@responses.activate
def test_registering_a_preset_in_one_call(monkeypatch):
    monkeypatch.setenv("ACME_KEY", SECRET)
    streamchat.register_preset("acme", base_url="https://llm.acme.test/v1", key_env=("ACME_KEY",),
                               default_model="acme-1", headers={"X-Team": "search"})
    try:
        responses.add(responses.POST, "https://llm.acme.test/v1/chat/completions", body=SSE_OK)
        assert streamchat.Client("acme").complete("hi").text == "ok"
        sent = responses.calls[0].request
        assert sent.headers["Authorization"] == f"Bearer {SECRET}"
        assert sent.headers["X-Team"] == "search"
        assert "acme" in presets()
    finally:
        from streamchat import providers

        providers._PRESETS.pop("acme")


@responses.activate
def test_redirects_are_refused_so_the_key_never_travels():
    responses.add(responses.POST, "https://api.openai.com/v1/chat/completions", status=307,
                  headers={"Location": "https://evil.example/v1/chat/completions"})
    client = streamchat.Client("openai", model="m", api_key=SECRET)
    with pytest.raises(streamchat.ConfigurationError, match="does not follow redirects") as info:
        client.complete("hi")
    assert len(responses.calls) == 1
    assert SECRET not in str(info.value)


@responses.activate
def test_not_a_chat_model_404_tells_the_user_to_use_responses():
    responses.add(responses.POST, "https://api.openai.com/v1/chat/completions", status=404,
                  json={"error": {"message": "This is not a chat model and thus not supported in "
                                             "the v1/chat/completions endpoint.",
                                  "type": "invalid_request_error", "code": None}})
    with pytest.raises(streamchat.NotFoundError, match="openai-responses"):
        streamchat.Client("openai", model="o1-mini", api_key="k").complete("hi")


@responses.activate
def test_context_overflow_is_recognised_and_not_retried(no_backoff):
    responses.add(responses.POST, "https://api.openai.com/v1/chat/completions", status=400,
                  json={"error": {"message": "This model's maximum context length is 128000 "
                                             "tokens. However, your messages resulted in 200000 "
                                             "tokens.", "type": "invalid_request_error",
                                  "code": "context_length_exceeded"}})
    with pytest.raises(streamchat.ContextOverflowError, match="maximum context length"):
        streamchat.Client("openai", model="m", api_key="k").complete("hi")
    assert len(responses.calls) == 1 and no_backoff == []


def test_nothing_to_send_is_a_configuration_error():
    with pytest.raises(streamchat.ConfigurationError, match="nothing to send"):
        streamchat.Client("openai", model="m", api_key="k").stream([])


def test_tools_none_means_no_tools_and_a_lone_tool_is_a_typed_error():
    client = streamchat.Client("fake")

    def lookup(city: str) -> str:
        return city

    assert client.request("hi", tools=None).tools == []
    with pytest.raises(streamchat.ConfigurationError, match=r"tools takes a list.*\[tool\]"):
        client.request("hi", tools=lookup)  # type: ignore[arg-type]
    assert [t.name for t in client.request("hi", tools=(lookup,)).tools] == ["lookup"]
