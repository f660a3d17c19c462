"""Token log probabilities, read from the two shapes providers send them in.

OpenAI's (Chat Completions, the Responses API and Ollama): a list of
{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]},
https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
Gemini's logprobsResult: https://ai.google.dev/api/generate-content#LogprobsResult
"""

from __future__ import annotations

import math
from typing import Any, List, Optional

from ..types import Event, LogprobsEvent, TokenLogprob, TopLogprob


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) or value == -math.inf else None


def _top(entry: Any) -> Optional[TopLogprob]:
    if entry.__class__ is not dict or not isinstance(entry.get("token"), str):
        return None
    logprob = _number(entry.get("logprob"))
    if logprob is None:
        return None
    raw = entry.get("bytes")
    return TopLogprob(token=entry["token"], logprob=logprob,
                      bytes=raw if isinstance(raw, list) else None)


def openai_logprobs(items: Any) -> List[TokenLogprob]:
    """OpenAI's shape, also Ollama's and the Responses API's: a list of
    {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}."""
    out: List[TokenLogprob] = []
    for item in items if isinstance(items, list) else ():
        chosen = _top(item)
        if chosen is None:
            continue
        alternatives = [t for t in map(_top, item.get("top_logprobs") or ()) if t is not None]
        out.append(TokenLogprob(token=chosen.token, logprob=chosen.logprob,
                                bytes=chosen.bytes, top_logprobs=alternatives))
    return out


def _gemini_candidate(entry: Any) -> Optional[TopLogprob]:
    if entry.__class__ is not dict or not isinstance(entry.get("token"), str):
        return None
    logprob = _number(entry.get("logProbability"))
    return None if logprob is None else TopLogprob(token=entry["token"], logprob=logprob)


def gemini_logprobs(result: Any) -> List[TokenLogprob]:
    """Gemini's logprobsResult: chosenCandidates[i] is step i's token, topCandidates[i]
    its alternatives."""
    if result.__class__ is not dict:
        return []
    tops = result.get("topCandidates") or []
    out: List[TokenLogprob] = []
    for step, entry in enumerate(result.get("chosenCandidates") or ()):
        chosen = _gemini_candidate(entry)
        if chosen is None:
            continue
        top = tops[step] if step < len(tops) and tops[step].__class__ is dict else {}
        alternatives = [c for c in map(_gemini_candidate, top.get("candidates") or ())
                        if c is not None]
        out.append(TokenLogprob(token=chosen.token, logprob=chosen.logprob,
                                top_logprobs=alternatives))
    return out


def openai_event(items: Any) -> List[Event]:
    """A `logprobs` event for OpenAI-shaped entries, or none when there are none."""
    entries = openai_logprobs(items)
    return [LogprobsEvent(logprobs=entries)] if entries else []


def gemini_event(result: Any) -> List[Event]:
    """A `logprobs` event for a Gemini logprobsResult, or none when it has no tokens."""
    entries = gemini_logprobs(result)
    return [LogprobsEvent(logprobs=entries)] if entries else []
