"""An MCP tool's ``inputSchema`` (JSON Schema) made into a Live ``parametersJsonSchema`` (§3.1.4).

What Live takes: ``parametersJsonSchema`` is plain JSON Schema describing an object whose
properties are the function's parameters, in the subset the Gemini API documents (type,
description, enum, format, properties, required, items, prefixItems, min/maxItems,
minimum/maximum, min/maxLength, pattern, anyOf, additionalProperties, nullable types).

How: local ``$ref``s (``#/$defs/X``, ``#/definitions/X``) are inlined, ``oneOf`` becomes
``anyOf``, a one-element ``allOf`` is merged into its parent, type lists (``["string",
"null"]``) become ``anyOf`` of single types, and everything else (``$schema``, ``title``,
``examples``, ``x-…`` and the other validation keywords) is left out. Leaving a keyword out only
loosens what the model is told: the arguments are still checked against the tool's full schema
before the call (mcp_tools.py) and by the server itself.

What cannot be converted raises `UnsupportedSchema` with the reason, and the tool is skipped
with one warning: a recursive or non-local ``$ref``, a multi-element ``allOf``, a root that is
not an object, a schema that is not a JSON object, or one nested deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32
TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
#: keywords copied as they are (their values are not schemas)
PLAIN = ("description", "enum", "format", "minimum", "maximum", "minItems", "maxItems",
         "minLength", "maxLength", "pattern", "required", "default", "propertyOrdering")


class UnsupportedSchema(ValueError):
    """This input schema has no Live equivalent; the message says why."""


def live_parameters(schema: Any) -> dict[str, Any] | None:
    """The ``parametersJsonSchema`` for an MCP ``inputSchema``; None for a tool without
    parameters (an object with no properties is left out, as voicecli's own tools do)."""
    if not isinstance(schema, dict):
        raise UnsupportedSchema("the input schema is not a JSON object")
    converted = _Converter(schema).convert(schema, 0, ())
    if converted.get("type") not in (None, "object") or "anyOf" in converted:
        raise UnsupportedSchema("the input schema does not describe an object")
    if not converted.get("properties"):
        return None
    converted["type"] = "object"
    return converted


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def convert(self, schema: Any, depth: int, refs: tuple[str, ...]) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise UnsupportedSchema(f"the input schema is nested deeper than {MAX_DEPTH} levels")
        if schema is True or schema == {}:
            return {}
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"a sub-schema is not an object: {schema!r}")
        schema = _merged_all_of(schema)
        while "$ref" in schema:  # a recursive chain ends in UnsupportedSchema
            schema, refs = self._resolved(schema, refs)
            schema = _merged_all_of(schema)
        out: dict[str, Any] = {k: schema[k] for k in PLAIN if k in schema}
        if "const" in schema and "enum" not in out:
            out["enum"] = [schema["const"]]
        self._types(schema, out, depth, refs)
        self._children(schema, out, depth, refs)
        return out

    def _resolved(self, schema: dict[str, Any], refs: tuple[str, ...]) -> tuple[dict, tuple]:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise UnsupportedSchema(f"$ref {ref!r} is not a local reference")
        if ref in refs:
            raise UnsupportedSchema(f"$ref {ref} is recursive")
        target: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise UnsupportedSchema(f"$ref {ref} points at nothing")
            target = target[part]
        if not isinstance(target, dict):
            raise UnsupportedSchema(f"$ref {ref} is not a schema")
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return {**target, **siblings}, (*refs, ref)

    def _types(self, schema: dict[str, Any], out: dict[str, Any], depth: int,
               refs: tuple[str, ...]) -> None:
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k in TYPES]
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["anyOf"] = [{"type": k} for k in kinds]
        elif isinstance(kind, str):
            if kind not in TYPES:
                raise UnsupportedSchema(f"unknown type {kind!r}")
            out["type"] = kind
        elif kind is not None:
            raise UnsupportedSchema(f"type must be a string or a list, not {kind!r}")
        alternatives = schema.get("anyOf", schema.get("oneOf"))
        if alternatives is not None:
            if not isinstance(alternatives, list) or not alternatives:
                raise UnsupportedSchema("anyOf/oneOf must be a non-empty list")
            converted = [self.convert(s, depth + 1, refs) for s in alternatives]
            if "anyOf" in out:  # both a type list and anyOf: keep the sub-schemas
                out.pop("anyOf")
            out["anyOf"] = converted
        if "type" not in out and "anyOf" not in out and "properties" in schema:
            out["type"] = "object"

    def _children(self, schema: dict[str, Any], out: dict[str, Any], depth: int,
                  refs: tuple[str, ...]) -> None:
        properties = schema.get("properties")
        if properties is not None:
            if not isinstance(properties, dict):
                raise UnsupportedSchema("properties must be an object")
            out["properties"] = {
                str(name): self.convert(sub, depth + 1, refs) for name, sub in properties.items()
            }
            if "required" in out:
                out["required"] = [r for r in out["required"] if r in out["properties"]]
        items = schema.get("items")
        if isinstance(items, list):  # draft-07 tuple form
            out["prefixItems"] = [self.convert(s, depth + 1, refs) for s in items]
        elif items is not None:
            out["items"] = self.convert(items, depth + 1, refs)
        if isinstance(schema.get("prefixItems"), list):
            out["prefixItems"] = [self.convert(s, depth + 1, refs) for s in schema["prefixItems"]]
        extra = schema.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.convert(extra, depth + 1, refs)


def _merged_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    parts = schema.get("allOf")
    if parts is None:
        return schema
    if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], dict):
        raise UnsupportedSchema("allOf with several schemas cannot be expressed")
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    return {**parts[0], **rest}

