"""The fake's model lists and token counters, one answer shape per provider, so that
`client.models()` and `client.count_tokens()` work offline on every wire.

Paths decide the shape: Vertex's publisher list, Gemini's `/v1beta/models`, and every other
`/models` in one shape that both OpenAI's and Anthropic's readers take (the same path on
both). Counts are the fake's usual estimate of the request's text.
"""

from __future__ import annotations

import json
from typing import Any, List, Mapping, Optional

from .common import DEFAULT_MODEL, Rendered, estimate_tokens

_JSON = (("Content-Type", "application/json"),)


def _answer(body: Any) -> Rendered:
    return Rendered(200, _JSON, (json.dumps(body).encode(),))


def model_list(path: str) -> Optional[Rendered]:
    """GET of a model list: https://platform.openai.com/docs/api-reference/models/list,
    https://docs.anthropic.com/en/api/models-list, https://ai.google.dev/api/models,
    https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list"""
    if path.endswith("/publishers/google/models"):
        return _answer({"publisherModels": [
            {"name": f"publishers/google/models/{DEFAULT_MODEL}", "versionId": "001",
             "launchStage": "GA"}]})
    if not path.endswith("/models"):
        return None
    if "/v1beta" in path:
        return _answer({"models": [
            {"name": f"models/{DEFAULT_MODEL}", "displayName": "Fake model",
             "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
             "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
    return _answer({
        "object": "list",
        "data": [{"id": DEFAULT_MODEL, "object": "model", "type": "model", "created": 0,
                  "created_at": "2025-01-01T00:00:00Z", "owned_by": "streamchat",
                  "display_name": "Fake model"}],
        "has_more": False, "first_id": DEFAULT_MODEL, "last_id": DEFAULT_MODEL,
    })


def _text(value: Any) -> List[str]:
    """Every string value of a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _text(item)]
    if isinstance(value, Mapping):
        return [s for key, item in value.items() if key != "model" for s in _text(item)]
    return []


def token_count(path: str, body: Any) -> Optional[Rendered]:
    """The answer of a token counter to a POST of `path`, or None for another path.
    https://docs.anthropic.com/en/api/messages-count-tokens,
    https://platform.openai.com/docs/api-reference/responses/input-tokens,
    https://ai.google.dev/api/tokens#method:-models.counttokens"""
    tokens = estimate_tokens("".join(_text(body)))
    if path.endswith("/messages/count_tokens"):
        return _answer({"input_tokens": tokens})
    if path.endswith("/responses/input_tokens"):
        return _answer({"object": "response.input_tokens", "input_tokens": tokens})
    if path.endswith(":countTokens"):
        return _answer({"totalTokens": tokens, "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": tokens}]})
    return None
