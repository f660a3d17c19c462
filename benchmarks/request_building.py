"""What building a request costs: each wire's `build_request` on a 50-message text history,
beside the least it can cost (the same messages copied into a list of plain dicts, as any
client must), and the same history with a large image in its first message. Run only when
named (`--scenario request-building`).

Content parts (images, documents, audio) must not make a plain-text conversation dearer:
a string message takes no part of the parts path. The image case shows that an image in
the history costs its encoding once, not once per request.
"""

from __future__ import annotations

import functools
import timeit
from typing import Any, Callable, List

from benchmarks.context import Context, log

MESSAGES = 50
IMAGE_BYTES = 1 << 20


def history(image: bool = False) -> List[Any]:
    """A system prompt and alternating questions and answers, 50 messages in all."""
    from streamchat.types import Image, Message

    messages = [Message.system("You are a terse assistant.")]
    for i in range((MESSAGES - 1) // 2 + 1):
        messages.append(Message.user(f"Question {i}: what is {i} times {i}, and why?"))
        messages.append(Message.assistant(f"It is {i * i}. " * 8))
    if image:
        picture = Image(data=b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_BYTES), media_type="image/png")
        messages[1] = Message.user([messages[1].text, picture])
    return messages[:MESSAGES]


def seconds(action: Callable[[], object], number: int = 500, repeat: int = 9) -> float:
    """The best time of one call over several batches: the machine's noise only adds."""
    return min(timeit.repeat(action, number=number, repeat=repeat)) / number


def scenario_request_building(ctx: Context) -> None:
    """build_request per wire on a 50-message history, beside a floor of plain dicts."""
    from streamchat.providers import wire_format
    from streamchat.types import ChatRequest
    from streamchat.wire.common import Endpoint

    log(f"request building: {MESSAGES}-message history, each wire's build_request")
    text = ChatRequest(model="m", messages=history())
    pictured = ChatRequest(model="m", messages=history(image=True))
    floor = seconds(lambda: [{"role": m.role, "content": m.content} for m in text.messages])
    for wire in ("openai", "openai-responses", "anthropic", "gemini", "ollama"):
        module = wire_format(wire)
        endpoint = Endpoint(wire, "http://127.0.0.1:1/v1", api_key="k")
        cost = seconds(functools.partial(module.build_request, text, endpoint))
        ctx.add("request building", f"{MESSAGES} text messages", "streamchat", wire,
                f"{cost * 1e6:.1f} us", f"{floor * 1e6:.1f} us", f"{cost / floor:.1f}x")
        module.build_request(pictured, endpoint)  # the image's base64 is made once, here
        cost = seconds(functools.partial(module.build_request, pictured, endpoint))
        ctx.add("request building", f"{MESSAGES} messages, a 1 MiB image", "streamchat",
                wire, f"{cost * 1e6:.1f} us", f"{floor * 1e6:.1f} us", f"{cost / floor:.1f}x")
