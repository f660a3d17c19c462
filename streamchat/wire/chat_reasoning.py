"""Reasoning that Chat Completions gateways carry beside `reasoning_content`, and that the
model's provider wants back on the next turn.

- LiteLLM's proxy puts Claude's thinking in `delta.thinking_blocks`, a list of
  `{"type": "thinking", "thinking", "signature"}` and `{"type": "redacted_thinking",
  "data"}` pieces; the assistant message sends them back as `thinking_blocks`.
  https://docs.litellm.ai/docs/reasoning_content
- OpenRouter puts every model's reasoning in `delta.reasoning_details`, a list of
  `reasoning.text` (text, signature), `reasoning.summary` and `reasoning.encrypted` (data)
  entries keyed by `index`; the assistant message sends the merged list back.
  https://openrouter.ai/docs/use-cases/reasoning-tokens#preserving-reasoning-blocks
- Mistral's Magistral streams `content` as typed parts, reasoning in `thinking` parts.
  https://docs.mistral.ai/capabilities/reasoning/

Pieces are merged as they stream; the text a caller sees comes from here only when the
delta has no plain `reasoning` / `reasoning_content` string, so nothing shows twice.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..types import Event, ThinkingEvent, text_event

_DETAIL_TEXT = (("reasoning.text", "text"), ("reasoning.summary", "summary"))


def content_parts(parts: List[Any]) -> List[Event]:
    """Events of a `content` sent as a list of typed parts (text and thinking)."""
    events: List[Event] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            text = part.get("text")
            if isinstance(text, str) and text:
                events.append(text_event({"text": text}))
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            pieces = inner if isinstance(inner, list) else [{"text": inner}]
            for piece in pieces:
                text = piece.get("text") if isinstance(piece, dict) else None
                if isinstance(text, str) and text:
                    events.append(ThinkingEvent(text=text))
    return events


class GatewayReasoning:
    """Merges `thinking_blocks` and `reasoning_details` pieces of one answer."""

    def __init__(self) -> None:
        self._blocks: List[Dict[str, Any]] = []
        self._block_open = False
        self._details: Dict[Any, Dict[str, Any]] = {}

    def thinking_blocks(self, pieces: Any, shown: bool) -> List[Event]:
        """Merge LiteLLM pieces; `shown` when the delta's reasoning string carried the text."""
        events: List[Event] = []
        for piece in pieces if isinstance(pieces, list) else ():
            if not isinstance(piece, dict):
                continue
            if piece.get("type") == "redacted_thinking":
                self._blocks.append(dict(piece))
                self._block_open = False
                events.append(ThinkingEvent(redacted=str(piece.get("data") or "")))
                continue
            text = piece.get("thinking")
            text = text if isinstance(text, str) else ""
            if not self._block_open:
                self._blocks.append({"type": "thinking", "thinking": ""})
                self._block_open = True
            block = self._blocks[-1]
            block["thinking"] += text
            if text and not shown:
                events.append(ThinkingEvent(text=text))
            signature = piece.get("signature") or piece.get("signature_delta")
            if isinstance(signature, str) and signature:
                block["signature"] = signature
                self._block_open = False
                events.append(ThinkingEvent(text="", signature=signature))
        return events

    def reasoning_details(self, pieces: Any, shown: bool) -> List[Event]:
        """Merge OpenRouter pieces by index; `shown` as for thinking_blocks."""
        events: List[Event] = []
        for piece in pieces if isinstance(pieces, list) else ():
            if not isinstance(piece, dict):
                continue
            key = piece.get("index", len(self._details))
            key = key if isinstance(key, (int, str)) else len(self._details)
            merged = self._details.setdefault(key, {})
            text, signature = self._merge(merged, piece)
            if text and not shown:
                events.append(ThinkingEvent(text=text))
            if signature:
                events.append(ThinkingEvent(text="", signature=signature))
        return events

    @staticmethod
    def _merge(merged: Dict[str, Any], piece: Dict[str, Any]) -> Tuple[str, Optional[str]]:
        """Fold one piece into its entry: strings that stream (text, summary, data) are
        joined, anything else is the latest value. Returns the new visible text and the
        signature if this piece carried one."""
        shown = ""
        for name, value in piece.items():
            if name in ("text", "summary", "data") and isinstance(value, str):
                merged[name] = merged.get(name, "") + value
            elif value is not None and value != "":
                merged[name] = value
        for kind, field in _DETAIL_TEXT:
            value = piece.get(field)
            if piece.get("type") == kind and isinstance(value, str):
                shown = value
        signature = piece.get("signature")
        return shown, signature if isinstance(signature, str) and signature else None

    def provider_data(self, provider: str) -> Dict[str, Dict[str, Any]]:
        """The fields to add to the assistant message next turn, and the provider they are
        for: another Chat Completions service (a fallback to OpenAI itself) would refuse
        a gateway's field."""
        fields: Dict[str, Any] = {}
        if self._blocks:
            fields["thinking_blocks"] = self._blocks
        if self._details:
            fields["reasoning_details"] = list(self._details.values())
        return {"openai": {"provider": provider, "message": fields}} if fields else {}
