"""A value read from a file (a baseline, a shard's report) checked against the report's
JSON Schema: the first field it refuses, in words ("is NaN, not a finite number").
"""

from __future__ import annotations

import functools
import json
import math
from typing import TYPE_CHECKING, Any

from .schema import json_schema

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["schema_problem"]


#: JSON Schema's types as Python's ``json`` reads them, and in words (a bool is no number).
_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_WORDS = {"number": "a number", "integer": "a whole number", "string": "a string"}
_WORDS |= {"boolean": "true or false", "array": "a list", "object": "an object", "null": "null"}


@functools.cache
def _document_schema() -> dict[str, Any]:
    return json_schema()


def _shown(value: object) -> str:
    """A value as the file spells it ('abc', null, true, NaN, -1); a list or an object by
    its kind, since it may be long."""
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return json.dumps(value)


def _is(value: object, kind: str) -> bool:
    return isinstance(value, _TYPES[kind]) and not (isinstance(value, bool) and kind != "boolean")


def schema_problem(
    value: object, schema: Mapping[str, Any], *, complete: bool = True, seconds: bool = False
) -> tuple[str, str] | None:
    """What a part of the JSON Schema (``schema``, e.g. the result's) refuses in
    ``value``, first found: (where below it, what is wrong), e.g. ``(".p50_s", "is NaN,
    not a finite number")``; None when the value is sound.

    Beyond the schema, numbers must be finite (reports are written without NaN or
    Infinity), and times (fields ending in ``_s``; ``seconds`` for ``value`` itself) not
    negative. With ``complete`` false, an object's type is checked and nothing within it
    (a baseline of an older version lacks fields added since).
    """
    if "$ref" in schema:
        schema = _document_schema()["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds is not None and not any(_is(value, kind) for kind in kinds):
        return "", f"is {_shown(value)}, not {' or '.join(_WORDS[kind] for kind in kinds)}"
    enum = schema.get("enum")
    if enum is not None and not any(value == v and type(value) is type(v) for v in enum):
        words = [_shown(v) for v in enum]
        return "", f"is {_shown(value)}, not {', '.join(words[:-1])} or {words[-1]}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(value, schema, seconds)
    if isinstance(value, list):
        least, most = schema.get("minItems", 0), schema.get("maxItems", len(value))
        if not least <= len(value) <= most:
            wanted = least if least == most else f"{least} to {most}"
            held = f"{len(value)} item" + ("" if len(value) == 1 else "s")
            return "", f"holds {held}, not {wanted}"
        items = schema.get("items", {})
        if items == {"type": "integer"} and all(type(item) is int for item in value):
            return None  # raw_ns: millions of samples, checked at C speed
        for position, item in enumerate(value):
            found = schema_problem(item, items, complete=complete, seconds=seconds)
            if found is not None:
                return f"[{position}]{found[0]}", found[1]
    if isinstance(value, dict) and complete:
        return _object_problem(value, schema, seconds)
    return None


def _number_problem(
    value: float, schema: Mapping[str, Any], seconds: bool
) -> tuple[str, str] | None:
    shown = _shown(value)
    if not math.isfinite(value):
        return "", f"is {shown}, not a finite number"
    if seconds and value < 0:
        return "", f"is {shown}, a negative time"
    if value < schema.get("minimum", value):
        return "", f"is {shown}, below its minimum {schema['minimum']}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return "", f"is {shown}, not above {schema['exclusiveMinimum']}"
    if value > schema.get("maximum", value):
        return "", f"is {shown}, above its maximum {schema['maximum']}"
    return None


def _object_problem(
    value: Mapping[str, Any], schema: Mapping[str, Any], seconds: bool
) -> tuple[str, str] | None:
    missing = [name for name in schema.get("required", ()) if name not in value]
    if missing:
        return f".{missing[0]}", "is missing"
    properties: Mapping[str, Any] = schema.get("properties", {})
    others = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            found = schema_problem(item, properties[name], seconds=name.endswith("_s"))
        elif isinstance(others, dict):
            found = schema_problem(item, others, seconds=seconds)
        else:
            continue  # a field of a later version: not read here
        if found is not None:
            return f".{name}{found[0]}", found[1]
    return None
