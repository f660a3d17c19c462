"""Conversation entries: who said what, the tool calls an answer asked for, and the
reasoning a provider wants back. Every wire adapter translates these, so a conversation can
move from one provider to another between turns."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A complete tool call requested by the model."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The provider's id for the call (synthesised where the provider has none)."""
    name: str
    """The tool's name."""
    arguments: Dict[str, Any] = Field(default_factory=dict)
    """The arguments, parsed from JSON."""
    raw_arguments: str = "{}"
    """The arguments exactly as the provider sent them."""
    signature: Optional[str] = None
    """An opaque token some providers (Gemini) need sent back with the call."""


class ThinkingBlock(BaseModel):
    """One block of reasoning, kept so it can be sent back unchanged in a later turn."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    """The visible reasoning text."""
    signature: Optional[str] = None
    """The provider's signature over the block (Anthropic needs it back with tool use)."""
    redacted: Optional[str] = None
    """Encrypted reasoning the provider would not show (Anthropic redacted_thinking)."""


class Message(BaseModel):
    """One entry of a conversation, in a shape every adapter can translate."""

    role: Role
    """system, user, assistant or tool."""
    content: str = ""
    """The text of the message (the result, for a tool message)."""
    tool_calls: List[ToolCall] = Field(default_factory=list)
    """Calls the assistant asked for."""
    tool_call_id: Optional[str] = None
    """For a tool message: the call it answers."""
    name: Optional[str] = None
    """For a tool message: the tool's name (Gemini matches results by name)."""
    thinking: List[ThinkingBlock] = Field(default_factory=list)
    """Reasoning blocks of an assistant message, for providers that want them back."""
    interrupted: bool = False
    """True when this assistant message was cut short by an interrupt."""

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Optional[List[ToolCall]] = None) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or [])

    @classmethod
    def tool(cls, tool_call_id: str, content: Any, name: Optional[str] = None) -> Message:
        """A tool result; anything that is not a string is sent as JSON."""
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        return cls(role="tool", content=text, tool_call_id=tool_call_id, name=name)


Prompt = Union[str, Message, Sequence[Union[Message, Mapping[str, Any]]]]
"""What a call accepts as its prompt: a string (one user message), a Message, or a list of
Messages or message dicts."""


def to_messages(prompt: Optional[Prompt], system: Optional[str] = None) -> List[Message]:
    """Accept a string, a Message, or a list of Messages or message dicts."""
    messages: List[Message] = []
    if system:
        messages.append(Message.system(system))
    if prompt is None:
        return messages
    if isinstance(prompt, str):
        messages.append(Message.user(prompt))
    elif isinstance(prompt, Message):
        messages.append(prompt)
    else:
        for item in prompt:
            messages.append(item if isinstance(item, Message) else Message.model_validate(item))
    return messages
