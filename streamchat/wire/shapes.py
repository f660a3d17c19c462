"""The JSON of a stream's frames, parsed for less than json.loads costs, by noticing that
they repeat one shape.

Providers send every token in the same envelope: a text delta differs from the one
before it only in the text and a few scalars (a sequence number, usage counts, padding).
When two frames in a row differ only in such scalars or in white space, their common
text becomes a shape: literal text with holes for those values. A frame whose text
matches a shape's literal text exactly is built from the shape and its holes, each hole
read by the same scanner that json.loads uses, so it is the object json.loads would give,
with new containers every time. Anything else is parsed in full, exactly as before.

json.loads is the largest single cost of an event: the envelope around a three-character
delta is a few hundred characters of JSON.
"""

from __future__ import annotations

import json.decoder
import re
from types import CodeType, FunctionType
from typing import Any, Callable, Dict, List, Optional, Tuple

from .common import load_json

_scanstring: Callable[[str, int, bool], Tuple[str, int]] = (
    json.decoder.scanstring  # type: ignore[attr-defined]  # missing from the type stubs
)
"""json's own string scanner (the C one where it is built), strict as json.loads is."""

_TOKEN = re.compile(
    r'([ \t\n\r]*)("[^"\\]*(?:\\.[^"\\]*)*"|-?[0-9][0-9.eE+-]*|[{}\[\]:,]|true|false|null)'
)
"""A token of valid JSON and the white space before it; used only on text json.loads
has accepted, to line two frames up token by token."""

_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
"""A JSON number, ASCII digits only: json's own NUMBER_RE uses \\d, which also takes
digits of other scripts that json.loads refuses."""

_SPACE = re.compile(r"[ \t\n\r]*")

_Tokens = Tuple[List[Tuple[str, str]], str]
"""A JSON text's tokens, each with the white space before it, and the white space after
the last."""

Matcher = Callable[[str], Any]
"""A shape's matcher: the parsed frame, or None when the text is not of that shape."""

_MARK = "\x00streamchat-hole-"
"""The start of the strings put in place of the holes to find where they land."""

SHAPES = 4
"""Shapes kept per stream, newest first: a stream interleaves a few kinds of frame (text
and reasoning deltas, pings, tool-call fragments)."""
MAX_SHAPE_TEXT = 8 * 1024
"""Frames longer than this are not learnt from: an envelope is a few hundred characters,
and a long frame (a whole tool call, a big citation) rarely comes twice."""
MAX_DEPTH = 32
"""Deeper frames are not learnt from: the generated displays nest as deep as the frame,
and Python's parser refuses a few hundred levels."""
MAX_BACKOFF = 64
"""After a failed try at learning a shape, the frames parsed in full before the next try
double, up to this: a stream whose frames never repeat pays for few tries."""


class FrameJson:
    """Parses the JSON frames of one stream (one per decoder)."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._shapes: List[Matcher] = []
        self._previous: Optional[_Tokens] = None
        """The tokens of the last frame parsed in full, the one a new frame is compared
        with (None until they were needed)."""
        self._previous_text: Optional[str] = None
        self._wait = 0
        self._backoff = 1

    def load(self, data: str) -> Any:
        """What json.loads(data) gives; a ProtocolError naming the provider for bad JSON."""
        for shape in self._shapes:
            value = shape(data)
            if value is not None:
                return value
        value = load_json(data, self._provider)
        if value.__class__ is dict or value.__class__ is list:
            previous, tokens = self._previous_text, None
            if self._wait:
                self._wait -= 1
            elif previous is not None and max(len(previous), len(data)) <= MAX_SHAPE_TEXT:
                tokens = _tokens(data)
                learned = _learn(self._previous or _tokens(previous), tokens)
                if learned is None:
                    self._backoff = min(2 * self._backoff, MAX_BACKOFF)
                    self._wait = self._backoff
                else:
                    self._shapes = [learned, *self._shapes[: SHAPES - 1]]
                    self._backoff = 1
            self._previous_text, self._previous = data, tokens
        return value


STRING, NUMBER, SPACE = "string", "number", "space"
"""The kinds of hole: a string or number value, or a run of white space, which some
providers vary from frame to frame to pad the frame's length (Anthropic's events)."""


def _learn(a: Optional[_Tokens], b: Optional[_Tokens]) -> Optional[Matcher]:
    """The shape two valid JSON texts share, given their tokens, if they differ only in
    scalar values and white space."""
    if a is None or b is None or len(a[0]) != len(b[0]):
        return None
    literals: List[str] = []
    kinds: List[str] = []
    text = ""
    depth = 0
    for (space_a, token_a), (space_b, token_b) in zip(a[0], b[0]):
        if space_a != space_b:
            literals.append(text)
            kinds.append(SPACE)
            text = ""
        else:
            text += space_a
        if token_a in ("{", "["):
            depth += 1
            if depth > MAX_DEPTH:
                return None
        elif token_a in ("}", "]"):
            depth -= 1
        if token_a == token_b:
            text += token_a
            continue
        is_string = token_a[0] == '"' and token_b[0] == '"'  # a key is refused by _compile
        is_number = token_a[0] in "-0123456789" and token_b[0] in "-0123456789"
        if not (is_string or is_number):
            return None
        literals.append(text + '"' if is_string else text)
        kinds.append(STRING if is_string else NUMBER)
        text = ""
    if a[1] != b[1]:
        literals.append(text)
        kinds.append(SPACE)
        text = ""
    literals.append(text + b[1])
    return _compile(literals, kinds)


def _tokens(text: str) -> Optional[_Tokens]:
    """The tokens of a valid JSON text and the white space after them; None if the
    tokens found do not run through the whole text (findall skips what it cannot read)."""
    tokens = _TOKEN.findall(text)
    rest = text[sum(len(space) + len(token) for space, token in tokens):]
    return None if rest.strip(" \t\n\r") else (tokens, rest)


def _compile(literals: List[str], kinds: List[str]) -> Optional[Matcher]:
    """The matcher of a shape, or None if a value hole does not land on a value once.

    Where each hole lands in the parsed frame is found by parsing the shape with a marker
    string in each hole. The matcher is generated code: a frame of a known shape then
    costs one call that checks the literal text, reads the holes and builds the result
    from dict and list displays, where walking a description of the shape cost half of
    what skipping json.loads saves. Only names and positions go into the source; every
    key, value and literal text from the server stays in the function's namespace.
    """
    marked_pieces = []
    for index, (literal, kind) in enumerate(zip(literals, kinds)):
        marker = f"{_MARK}{index}".replace("\x00", "\\u0000")
        hole = {STRING: marker + '"', NUMBER: '"' + marker + '"', SPACE: ""}[kind]
        marked_pieces.append(literal + hole)
    marked_pieces.append(literals[-1])
    try:
        marked = json.loads("".join(marked_pieces))
    except ValueError:
        return None
    if marked.__class__ is not dict and marked.__class__ is not list:
        return None
    namespace: Dict[str, Any] = {
        "scan": _scanstring, "number": _NUMBER.match, "space": _SPACE.match,
    }
    found: List[int] = []

    def name(value: Any) -> str:
        key = f"c{len(namespace)}"
        namespace[key] = value
        return key

    def display(value: Any) -> str:
        if value.__class__ is dict:
            if any(key.startswith(_MARK) for key in value):
                raise ValueError("a hole in a key")
            return "{" + ", ".join(f"{name(k)}: {display(v)}" for k, v in value.items()) + "}"
        if value.__class__ is list:
            return "[" + ", ".join(display(item) for item in value) + "]"
        if value.__class__ is str and value.startswith(_MARK):
            found.append(int(value[len(_MARK):]))
            return f"v{found[-1]}"
        return name(value)

    try:
        result = display(marked)
    except ValueError:
        return None
    if sorted(found) != [index for index, kind in enumerate(kinds) if kind != SPACE]:
        return None
    lines = ["def match(data):", "    try:"]
    position = "0"
    for index, (literal, kind) in enumerate(zip(literals, kinds)):
        if literal:
            lines.append(f"        if not data.startswith({name(literal)}, {position}): "
                         "return None")
        start = f"{position} + {len(literal)}"
        if kind == STRING:
            lines.append(f"        v{index}, p = scan(data, {start}, True)")
        elif kind == NUMBER:
            lines += [
                f"        m = number(data, {start})",
                "        if m is None: return None",
                # Only the integer part matched: an int, as json.loads gives.
                f"        v{index} = int(m.group()) if m.lastindex == 1 else float(m.group())",
                "        p = m.end()",
            ]
        else:
            lines.append(f"        p = space(data, {start}).end()")
        position = "p"
    tail = literals[-1]
    lines += [
        f"        if len(data) - {position} != {len(tail)} "
        f"or not data.endswith({name(tail)}): return None",
        "    except ValueError:  # a broken string or an over-long number: json.loads says",
        "        return None",
        f"    return {result}",
    ]
    return FunctionType(_code("\n".join(lines)), namespace)


_compiled: Dict[str, CodeType] = {}
"""Matchers' code by source. The source holds only names and positions, so the streams of
one provider and model share it; each gets a function of its own over its own values."""
MAX_COMPILED = 256
"""The most sources kept: a long-lived process that talks to many providers and models
starts over rather than grow without end."""


def _code(source: str) -> CodeType:
    code = _compiled.get(source)
    if code is None:
        module = compile(source, "<streamchat frame shape>", "exec")
        code = next(const for const in module.co_consts if isinstance(const, CodeType))
        if len(_compiled) >= MAX_COMPILED:
            _compiled.clear()
        _compiled[source] = code
    return code
