"""Keeping a conversation's history acceptable to every provider: results for tool calls
that never got one, call ids made unique across answers, usage summed over turns. Pure
functions over lists of Messages, used by `Chat` under its lock."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

from .types import Message, ToolCall, Usage

NOT_RUN_RESULT = (
    "This tool call was not run: the conversation moved on before a result was given."
)
"""The tool result added for a call that has none when the next turn starts."""


def with_missing_results(history: Sequence[Message]) -> List[Message]:
    """The history with a "not run" result after every tool call that has none.

    Results belong right after their assistant message (and its other results), which is
    where every provider looks for them.
    """
    out: List[Message] = []
    pending: List[ToolCall] = []
    answered: Set[str] = set()

    def close_pending() -> None:
        for call in pending:
            if call.id not in answered:
                out.append(Message.tool(call.id, NOT_RUN_RESULT, name=call.name))
        pending.clear()
        answered.clear()

    for message in history:
        if message.role == "tool":
            answered.add(message.tool_call_id or "")
        else:
            close_pending()
        out.append(message)
        if message.role == "assistant" and message.tool_calls:
            pending.extend(message.tool_calls)
    close_pending()
    return out


def sum_usage(usages: Sequence[Usage]) -> Usage:
    """Add usages field by field; a field no usage reported stays None, and cost_usd is
    None as soon as one usage has counts but no cost."""
    totals: Dict[str, Optional[int]] = {}
    for name in ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens",
                 "cache_write_tokens",
                 "reasoning_tokens"):
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        totals[name] = sum(values) if values else None
    costs = [u.cost_usd for u in usages]
    cost: Optional[float] = None
    if usages and all(c is not None for c in costs):
        cost = round(sum(c for c in costs if c is not None), 8)
    return Usage(**totals, cost_usd=cost)


def find_call(history: Sequence[Message], call_id: str) -> Tuple[Optional[ToolCall], bool]:
    """The most recent call with that id, and whether a result already follows it."""
    answered = False
    for message in reversed(history):
        if message.role == "tool" and message.tool_call_id == call_id:
            answered = True
        for call in message.tool_calls:
            if call.id == call_id:
                return call, answered
    return None, False


def unique_ids(
    history: Sequence[Message], calls: List[ToolCall]
) -> Tuple[List[ToolCall], Dict[str, str]]:
    """Rename calls whose id the history already uses; returns the calls and old->new."""
    used = {c.id for m in history for c in m.tool_calls}
    used.update(m.tool_call_id for m in history if m.tool_call_id)
    renamed: Dict[str, str] = {}
    out: List[ToolCall] = []
    for call in calls:
        new_id = call.id
        suffix = 2
        while new_id in used:
            new_id = f"{call.id}_{suffix}"
            suffix += 1
        used.add(new_id)
        if new_id != call.id:
            renamed[call.id] = new_id
            call = call.model_copy(update={"id": new_id})
        out.append(call)
    return out, renamed


__all__ = ["NOT_RUN_RESULT", "find_call", "sum_usage", "unique_ids", "with_missing_results"]
