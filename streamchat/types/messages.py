"""Conversation entries: who said what, the tool calls an answer asked for, and the
reasoning a provider wants back. Every wire adapter translates these, so a conversation can
move from one provider to another between turns."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigurationError
from .parts import PART_TYPES, Part, PartItem, Text

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
    content: Union[str, List[PartItem]] = ""
    """The text of the message (the result, for a tool message), or a list of parts:
    text, images, documents, audio. A string stays the common case and the cheap one."""
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
    provider_data: Dict[str, Dict[str, Any]] = Field(default_factory=dict)
    """What a provider needs back on the next turn and the neutral fields cannot carry
    (signed or encrypted reasoning, server tool blocks), keyed by wire format id
    ("anthropic", "openai-responses", "openai", "gemini"). Sent back verbatim to the same
    wire; any other wire ignores it and sends the neutral fields."""

    @property
    def text(self) -> str:
        """The message's text: the string itself, or its text parts joined by a blank line."""
        if isinstance(self.content, str):
            return self.content
        return "\n\n".join(p.text for p in self.content if isinstance(p, Text))

    @classmethod
    def system(cls, content: Union[str, Sequence[Union[str, Part]]]) -> Message:
        return cls(role="system", content=_content(content))

    @classmethod
    def user(cls, content: Union[str, Part, Sequence[Union[str, Part]]]) -> Message:
        """A user message: a string, or parts (`["What is this?", Image.from_path(...)]`)."""
        return cls(role="user", content=_content(content))

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Optional[List[ToolCall]] = None) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or [])

    @classmethod
    def tool(cls, tool_call_id: str, content: Any, name: Optional[str] = None) -> Message:
        """A tool result: a string, parts (`[Text("chart:"), Image(data=png)]`, where the
        provider takes them), or anything else, which is sent as JSON."""
        if isinstance(content, str) or _is_parts(content):
            value: Union[str, List[Any]] = _content(content)
        else:
            value = json.dumps(content, default=str)
        return cls(role="tool", content=value, tool_call_id=tool_call_id, name=name)


def _is_parts(value: Any) -> bool:
    if isinstance(value, PART_TYPES):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, PART_TYPES) for v in value)


def _content(content: Any) -> Any:
    """A string as it is; one part or a sequence of parts (and strings) as a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, PART_TYPES):
        return [content]
    return list(content)


# NOTE: one Sequence alternative, not one for conversations and one for parts: with two,
# type checkers cannot infer `["What is this?", image]` against either and call it list[object].
Prompt = Union[str, Message, Part, Sequence[Union[str, Part, Message, Mapping[str, Any]]]]
"""What a call accepts as its prompt: a string (one user message), a Message, a list of
Messages or message dicts (a conversation), or a part or a list of parts and strings (one
user message)."""


def to_messages(prompt: Optional[Prompt], system: Optional[str] = None) -> List[Message]:
    """The messages a prompt stands for; see `Prompt`."""
    messages: List[Message] = []
    if system:
        messages.append(Message.system(system))
    if prompt is None:
        return messages
    if isinstance(prompt, (str, *PART_TYPES)):
        messages.append(Message.user(prompt))
        return messages
    if isinstance(prompt, Message):
        messages.append(prompt)
        return messages
    items: List[Any] = list(prompt)
    parts = [isinstance(item, (str, *PART_TYPES)) for item in items]
    if any(parts) and not all(parts):
        raise ConfigurationError(
            "a prompt list is either a conversation (Messages or message dicts) or the parts "
            "of one user message (strings, Text, Image, Document, Audio), not both: put the "
            "parts in a Message.user([...])"
        )
    if items and all(parts):
        messages.append(Message.user(items))
        return messages
    for item in items:
        messages.append(item if isinstance(item, Message) else Message.model_validate(item))
    return messages
