"""Where a Client sends and how it authenticates: a preset, the environment and the
arguments resolved into one `Endpoint`.

Most presets need only a base URL and a key. Two build their address from parts:

* Azure OpenAI (`azure`, `azure-responses`): a resource endpoint, a deployment (the model
  name) and, with an `api_version`, the dated deployment URLs; without one, the `/openai/v1/`
  paths. The key goes in `api-key`; an Entra ID token provider sends a bearer token instead.
  https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
* Vertex AI (`vertex`): Gemini under a project and a location, with an OAuth bearer token
  (a provider, or google-auth's application default credentials), or express mode with an
  API key. https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference

For these two, `base_url` replaces only the scheme and host (a private endpoint, a proxy,
the fake server); the path is still built.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlencode, urlsplit

from .credentials import (
    GoogleCredentials,
    TokenProvider,
    TokenSource,
    application_default_credentials,
)
from .errors import ConfigurationError
from .providers import Preset, resolve_base_url, resolve_key
from .wire.common import Endpoint

AZURE_KEY_HEADER = ("api-key", "")
VERTEX_EXPRESS_HOST = "https://aiplatform.googleapis.com"
VERTEX_MULTI_REGIONS = frozenset({"us", "eu"})


def resolve_endpoint(
    preset: Preset,
    *,
    api_key: Optional[str],
    base_url: Optional[str],
    headers: Optional[Mapping[str, str]],
    query: Optional[Mapping[str, str]] = None,
    api_version: Optional[str] = None,
    token_provider: Optional[TokenProvider] = None,
    project: Optional[str] = None,
    location: Optional[str] = None,
) -> Endpoint:
    """The Endpoint for a preset; ConfigurationError names what is missing."""
    kind = preset.options.get("endpoint")
    merged = {**preset.headers, **(headers or {})}
    if kind == "azure":
        endpoint = _azure(preset, api_key, base_url, merged, api_version, token_provider)
    elif kind == "vertex":
        endpoint = _vertex(preset, api_key, base_url, merged, token_provider, project, location)
    else:
        _refuse_parts(preset, api_version=api_version, project=project, location=location)
        token = TokenSource(token_provider) if token_provider is not None else None
        endpoint = Endpoint(
            provider=preset.name,
            base_url=resolve_base_url(preset, base_url),
            api_key=None if token else resolve_key(preset, api_key),
            headers=merged,
            options=preset.options,
            token=token,
        )
    if query:
        endpoint = _with_query(endpoint, query)
    return endpoint


def _refuse_parts(preset: Preset, **parts: Optional[str]) -> None:
    given = [name for name, value in parts.items() if value is not None]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} only apply to the azure and vertex providers, not {preset.name!r}",
            provider=preset.name,
        )


def _with_query(endpoint: Endpoint, query: Mapping[str, str]) -> Endpoint:
    """Client-wide query parameters join those already in the base URL."""
    separator = "&" if urlsplit(endpoint.base_url).query else "?"
    return replace(endpoint, base_url=endpoint.base_url + separator + urlencode(dict(query)))


def _root(preset: Preset, base_url: Optional[str], variable: Optional[str], what: str) -> str:
    url = base_url or (os.environ.get(variable) if variable else None) or preset.base_url
    if not url:
        raise ConfigurationError(
            f"{preset.name} needs {what}: set {variable} or pass base_url=...",
            provider=preset.name,
        )
    return url.rstrip("/")


def _azure(
    preset: Preset,
    api_key: Optional[str],
    base_url: Optional[str],
    headers: Dict[str, str],
    api_version: Optional[str],
    token_provider: Optional[TokenProvider],
) -> Endpoint:
    root = _root(preset, base_url, preset.base_url_env, "your resource endpoint "
                 "(https://RESOURCE.openai.azure.com)")
    version = api_version or os.environ.get("OPENAI_API_VERSION")
    options: Dict[str, Any] = dict(preset.options)
    if version:
        # NOTE: dated API: chat goes to /openai/deployments/{deployment}/chat/completions,
        # Responses to /openai/responses, both with ?api-version=.
        url = f"{root}/openai?{urlencode({'api-version': version})}"
        options["deployment_path"] = preset.wire == "openai"
    else:
        url = f"{root}/openai/v1"
    if token_provider is not None:
        return Endpoint(provider=preset.name, base_url=url, headers=headers, options=options,
                        token=TokenSource(token_provider))
    key = api_key or next((os.environ[v] for v in preset.key_env if os.environ.get(v)), None)
    if not key:
        raise ConfigurationError(
            f"no credentials for {preset.name}: set AZURE_OPENAI_API_KEY, pass api_key=..., "
            "or pass azure_ad_token_provider=a callable returning an Entra ID token",
            provider=preset.name,
        )
    return Endpoint(provider=preset.name, base_url=url, api_key=key, headers=headers,
                    options=options, key_header=AZURE_KEY_HEADER)


def vertex_host(location: str) -> str:
    """The regional API host of a Vertex location."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in VERTEX_MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def _vertex(
    preset: Preset,
    api_key: Optional[str],
    base_url: Optional[str],
    headers: Dict[str, str],
    token_provider: Optional[TokenProvider],
    project: Optional[str],
    location: Optional[str],
) -> Endpoint:
    options: Dict[str, Any] = {**preset.options, "vertex": True}
    if api_key and (project or location or token_provider):
        raise ConfigurationError(
            "vertex takes either api_key=... (express mode) or a project, not both",
            provider=preset.name,
        )
    # An explicit key means express mode even when the environment names a project.
    if not api_key:
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        location = location or os.environ.get("GOOGLE_CLOUD_LOCATION")
    key = api_key or (None if project else os.environ.get("GOOGLE_API_KEY"))
    if key:
        # NOTE: express mode: no project or location in the path, the key in x-goog-api-key.
        root = (base_url or preset.base_url or VERTEX_EXPRESS_HOST).rstrip("/")
        options["models_url"] = f"{root}/v1beta1/publishers/google/models"
        return Endpoint(provider=preset.name, base_url=f"{root}/v1/publishers/google",
                        api_key=key, headers=headers, options=options)
    if not project:
        raise ConfigurationError(
            "vertex needs a project: set GOOGLE_CLOUD_PROJECT or pass project=... "
            "(and location=..., by default 'global'), or api_key=... for express mode",
            provider=preset.name,
        )
    location = location or "global"
    root = (base_url or preset.base_url or vertex_host(location)).rstrip("/")
    options["models_url"] = f"{root}/v1beta1/publishers/google/models"
    if token_provider is None:
        credentials, _ = application_default_credentials()
        token_provider = GoogleCredentials(credentials)
        quota = getattr(credentials, "quota_project_id", None)
        if quota:
            headers = {"x-goog-user-project": str(quota), **headers}
    return Endpoint(
        provider=preset.name,
        base_url=f"{root}/v1/projects/{project}/locations/{location}/publishers/google",
        headers=headers,
        options=options,
        token=TokenSource(token_provider),
    )
