"""Provider presets: each is data naming a wire format, a default base URL, the variable
that holds its key and any extra headers. OpenAI-compatible services are presets of the
one Chat Completions adapter, never copies of it."""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, cast

from .errors import ConfigurationError
from .wire.common import WireFormat

WIRE_MODULES: Dict[str, str] = {
    "openai": "openai_chat",
    "openai-responses": "openai_responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
}
"""Wire-format ids (what `replay` takes) to their adapter modules, imported on first use
so that `import streamchat` stays cheap."""


def wire_format(wire: str) -> WireFormat:
    """The adapter module of a wire-format id."""
    if wire not in WIRE_MODULES:
        raise ConfigurationError(
            f"unknown wire format {wire!r}; choose one of {', '.join(sorted(WIRE_MODULES))}"
        )
    module = importlib.import_module(f".wire.{WIRE_MODULES[wire]}", __package__)
    return cast(WireFormat, module)


@dataclass(frozen=True)
class Preset:
    """How to reach one provider."""

    name: str
    wire: str
    base_url: Optional[str]
    key_env: Tuple[str, ...] = ()
    """Variables that may hold the key, in order of preference."""
    key_required: bool = True
    base_url_env: Optional[str] = None
    default_model: Optional[str] = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    """Wire quirks, e.g. {"max_tokens_field": "max_tokens"} for servers that predate
    max_completion_tokens."""


_CLASSIC_MAX_TOKENS = {"max_tokens_field": "max_tokens"}
_NO_TOP_K = {"unsupported": ("top_k",)}
"""Chat Completions servers whose documentation has no top_k (vLLM, llama.cpp, LM Studio
and OpenRouter do take it)."""
_AZURE = {"endpoint": "azure", **_NO_TOP_K}

_PRESETS: Dict[str, Preset] = {}


def register_preset(
    name: str,
    *,
    wire: str = "openai",
    base_url: Optional[str] = None,
    key_env: Tuple[str, ...] = (),
    key_required: Optional[bool] = None,
    base_url_env: Optional[str] = None,
    default_model: Optional[str] = None,
    headers: Optional[Mapping[str, str]] = None,
    options: Optional[Mapping[str, Any]] = None,
) -> Preset:
    """Add or replace a provider preset, e.g. a company's OpenAI-compatible gateway."""
    if wire not in WIRE_MODULES:
        raise ConfigurationError(
            f"unknown wire format {wire!r}; choose one of {', '.join(sorted(WIRE_MODULES))}"
        )
    preset = Preset(
        name=name,
        wire=wire,
        base_url=base_url,
        key_env=tuple(key_env),
        key_required=bool(key_env) if key_required is None else key_required,
        base_url_env=base_url_env,
        default_model=default_model,
        headers=dict(headers or {}),
        options=dict(options or {}),
    )
    _PRESETS[name] = preset
    return preset


def get_preset(name: str) -> Preset:
    try:
        return _PRESETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_PRESETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"unknown provider {name!r}.{hint} Known providers: {', '.join(sorted(_PRESETS))}; "
            "register your own with streamchat.register_preset()"
        ) from None


def presets() -> Dict[str, Preset]:
    """All registered presets by name."""
    return dict(_PRESETS)


def resolve_base_url(preset: Preset, explicit: Optional[str]) -> str:
    url = explicit or (os.environ.get(preset.base_url_env) if preset.base_url_env else None)
    url = url or preset.base_url
    if not url:
        raise ConfigurationError(
            f"provider {preset.name!r} needs a base_url: pass base_url='http://host:port/v1'",
            provider=preset.name,
        )
    if "://" not in url:
        # NOTE: OLLAMA_HOST is often "host:port" or a bare host, meaning Ollama's own port.
        host = url.rstrip("/")
        port = preset.options.get("default_port")
        if port and ":" not in host.rsplit("]", 1)[-1]:
            host = f"{host}:{port}"
        url = "http://" + host
    return url.rstrip("/")


def resolve_key(preset: Preset, explicit: Optional[str]) -> Optional[str]:
    """The key from the argument or the environment; a clear error when it is required."""
    if explicit:
        return explicit
    for variable in preset.key_env:
        value = os.environ.get(variable)
        if value:
            return value
    if preset.key_required:
        names = " or ".join(preset.key_env)
        raise ConfigurationError(
            f"no API key for {preset.name}: set the environment variable {names}, "
            "or pass api_key=... to streamchat.Client",
            provider=preset.name,
        )
    return None


for _name, _kwargs in {
    "openai": dict(wire="openai", base_url="https://api.openai.com/v1",
                   key_env=("OPENAI_API_KEY",), base_url_env="OPENAI_BASE_URL",
                   default_model="gpt-4.1-mini", options=_NO_TOP_K),
    "openai-responses": dict(wire="openai-responses", base_url="https://api.openai.com/v1",
                             key_env=("OPENAI_API_KEY",), base_url_env="OPENAI_BASE_URL",
                             default_model="gpt-4.1-mini"),
    "anthropic": dict(wire="anthropic", base_url="https://api.anthropic.com/v1",
                      key_env=("ANTHROPIC_API_KEY",), base_url_env="ANTHROPIC_BASE_URL",
                      default_model="claude-sonnet-4-5"),
    "gemini": dict(wire="gemini", base_url="https://generativelanguage.googleapis.com/v1beta",
                   key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"), default_model="gemini-2.5-flash"),
    "ollama": dict(wire="ollama", base_url="http://localhost:11434", base_url_env="OLLAMA_HOST",
                   key_required=False, default_model="llama3.2",
                   options={"default_port": 11434}),
    "xai": dict(base_url="https://api.x.ai/v1", key_env=("XAI_API_KEY",),
                default_model="grok-4", options={**_CLASSIC_MAX_TOKENS, **_NO_TOP_K}),
    "groq": dict(base_url="https://api.groq.com/openai/v1", key_env=("GROQ_API_KEY",),
                 default_model="llama-3.3-70b-versatile",
                 # NOTE: Groq answers logprobs with a 400: https://console.groq.com/docs/openai
                 options={**_CLASSIC_MAX_TOKENS,
                          "unsupported": ("top_k", "logprobs")}),
    "openrouter": dict(base_url="https://openrouter.ai/api/v1", key_env=("OPENROUTER_API_KEY",),
                       default_model="openai/gpt-4.1-mini",
                       headers={"X-Title": "streamchat"}, options=_CLASSIC_MAX_TOKENS),
    "deepseek": dict(base_url="https://api.deepseek.com/v1", key_env=("DEEPSEEK_API_KEY",),
                     default_model="deepseek-chat",
                     options={**_CLASSIC_MAX_TOKENS, **_NO_TOP_K}),
    "opencode": dict(base_url="https://opencode.ai/zen/v1", key_env=("OPENCODE_API_KEY",),
                     default_model="qwen3-coder", options=_CLASSIC_MAX_TOKENS),
    "vllm": dict(base_url="http://localhost:8000/v1", key_env=("VLLM_API_KEY",),
                 key_required=False, options=_CLASSIC_MAX_TOKENS),
    "llamacpp": dict(base_url="http://localhost:8080/v1", key_required=False,
                     options=_CLASSIC_MAX_TOKENS),
    "lmstudio": dict(base_url="http://localhost:1234/v1", key_required=False,
                     options=_CLASSIC_MAX_TOKENS),
    "openai-compatible": dict(base_url=None, key_env=("OPENAI_COMPATIBLE_API_KEY",),
                              key_required=False, options=_CLASSIC_MAX_TOKENS),
    "azure": dict(base_url=None, key_env=("AZURE_OPENAI_API_KEY",), key_required=False,
                  base_url_env="AZURE_OPENAI_ENDPOINT", options=_AZURE),
    "azure-responses": dict(wire="openai-responses", base_url=None,
                            key_env=("AZURE_OPENAI_API_KEY",), key_required=False,
                            base_url_env="AZURE_OPENAI_ENDPOINT", options=_AZURE),
    "vertex": dict(wire="gemini", base_url=None, key_env=("GOOGLE_API_KEY",),
                   key_required=False, default_model="gemini-2.5-flash",
                   options={"endpoint": "vertex"}),
    "fake": dict(base_url=None, key_required=False, default_model="fake-model"),
}.items():
    register_preset(_name, **_kwargs)  # type: ignore[arg-type]
