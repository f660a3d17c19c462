"""Which OpenAI models answer only on the Responses API, so that `Client("openai", ...)`
can switch wire for them by itself (Chat Completions answers them with a 404).

https://platform.openai.com/docs/models
"""

from __future__ import annotations

import re

RESPONSES_ONLY_MODEL_PREFIXES = (
    "codex-",
    "gpt-5-codex",
    "gpt-5.1-codex",
    "gpt-5.2-codex",
    "gpt-5.3-codex",
    "o1-pro",
    "o3-pro",
    "gpt-5-pro",
    "gpt-5.2-pro",
    "o3-deep-research",
    "o4-mini-deep-research",
    "computer-use-preview",
)
"""Models OpenAI serves only through /responses: Chat Completions answers them with a 404."""

# Later versions of the same families (gpt-5.4-codex, gpt-5.5-pro, ...) follow the pattern.
_RESPONSES_ONLY_FAMILIES = re.compile(
    r"^(gpt-\d+(\.\d+)?-(codex|pro)|o\d+(-mini)?-(pro|deep-research))\b"
)

def is_responses_only_model(model: str) -> bool:
    """True for models that the Chat Completions endpoint refuses."""
    name = model.lower().rsplit("/", 1)[-1]
    return name.startswith(RESPONSES_ONLY_MODEL_PREFIXES) or bool(
        _RESPONSES_ONLY_FAMILIES.match(name)
    )
