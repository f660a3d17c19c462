"""JSON schemas (as pydantic writes them) in the OpenAPI 3.0 subset Gemini accepts, for
function declarations and structured output.

https://ai.google.dev/api/caching#Schema
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Tuple

_SCHEMA_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems",
        "minItems", "properties", "required", "minProperties", "maxProperties",
        "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
        "default", "items", "minimum", "maximum",
    }
)


def gemini_schema(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """A JSON schema (as pydantic writes it) rewritten in the dialect Gemini accepts.

    Gemini's Schema is a subset of OpenAPI 3.0: no `$ref`, `$defs`, `additionalProperties`,
    `const` or `type` lists. References are inlined, `null` alternatives become
    `nullable`, and keys Gemini would reject are dropped.
    """
    defs: Dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        found = schema.get(key)
        if isinstance(found, Mapping):
            defs.update(found)
    return _clean(schema, defs, ())


def _clean(
    node: Mapping[str, Any], defs: Mapping[str, Any], seen: Tuple[str, ...]
) -> Dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        target = defs.get(name)
        if name in seen or not isinstance(target, Mapping):
            # NOTE: a recursive model cannot be inlined; an open object is the nearest shape.
            return {"type": "object"}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _clean(merged, defs, (*seen, name))
    for combinator in ("allOf", "oneOf"):
        branches = node.get(combinator)
        if isinstance(branches, list) and len(branches) == 1 and isinstance(branches[0], Mapping):
            merged = {**branches[0], **{k: v for k, v in node.items() if k != combinator}}
            return _clean(merged, defs, seen)
    out: Dict[str, Any] = {}
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        elif kinds:
            out["anyOf"] = [{"type": k} for k in kinds]
    elif isinstance(kind, str):
        out["type"] = kind
    if "const" in node:
        out["enum"] = [node["const"]]
    for key, value in node.items():
        if key == "type" or (key not in _SCHEMA_KEYS and key != "oneOf"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {
                name: _clean(sub, defs, seen) for name, sub in value.items()
                if isinstance(sub, Mapping)
            }
        elif key == "items" and isinstance(value, Mapping):
            out[key] = _clean(value, defs, seen)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            _alternatives(out, value, defs, seen)
        elif key == "enum" and isinstance(value, list):
            if None in value:
                out["nullable"] = True
            # NOTE: Gemini enums are lists of strings whatever the type.
            out[key] = [v if isinstance(v, str) else json.dumps(v) for v in value if v is not None]
        else:
            out[key] = value
    return out


def _alternatives(
    out: Dict[str, Any], branches: List[Any], defs: Mapping[str, Any], seen: Tuple[str, ...]
) -> None:
    """anyOf/oneOf: pydantic's Optional[X] is anyOf [X, null], which Gemini spells
    X with nullable; several real alternatives stay an anyOf."""
    real = [b for b in branches if isinstance(b, Mapping) and b.get("type") != "null"]
    if len(real) < len(branches):
        out["nullable"] = True
    if len(real) == 1:
        for key, value in _clean(real[0], defs, seen).items():
            out.setdefault(key, value)
    elif real:
        out["anyOf"] = [_clean(b, defs, seen) for b in real]
