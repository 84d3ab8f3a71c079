"""MCP input schemas made into Live parametersJsonSchema (§3.1.4), and the ones refused."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from voicecli.tools.mcp_schema import UnsupportedSchema, live_parameters

PYDANTIC_STYLE = {  # what the SDK's servers generate for `def f(path: str, opts: Opts | None)`
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "read_fileArguments",
    "type": "object",
    "properties": {
        "path": {"title": "Path", "type": "string", "description": "The file"},
        "options": {"anyOf": [{"$ref": "#/$defs/Options"}, {"type": "null"}], "default": None},
        "mode": {"allOf": [{"$ref": "#/$defs/Mode"}], "description": "How"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5, "x-ui": "chips"},
        "count": {"type": ["integer", "null"], "minimum": 1, "examples": [3]},
        "pair": {"type": "array", "items": [{"type": "string"}, {"type": "number"}]},
        "kind": {"const": "file"},
    },
    "required": ["path", "ghost"],
    "additionalProperties": False,
    "$defs": {
        "Options": {"title": "Options", "type": "object",
                    "properties": {"encoding": {"type": "string", "enum": ["utf-8", "latin-1"]}}},
        "Mode": {"type": "string", "enum": ["text", "binary"]},
    },
}


def test_refs_are_inlined_and_meta_keywords_left_out() -> None:
    converted = live_parameters(PYDANTIC_STYLE)
    assert converted == {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file"},
            "options": {"default": None, "anyOf": [
                {"type": "object", "properties": {
                    "encoding": {"type": "string", "enum": ["utf-8", "latin-1"]}}},
                {"type": "null"}]},
            "mode": {"type": "string", "enum": ["text", "binary"], "description": "How"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "count": {"minimum": 1, "anyOf": [{"type": "integer"}, {"type": "null"}]},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
            "kind": {"enum": ["file"]},
        },
        "required": ["path"],  # a required name with no property is dropped
        "additionalProperties": False,
    }


def test_the_result_is_a_schema_the_genai_sdk_accepts_as_parameters_json_schema() -> None:
    declaration = types.FunctionDeclaration(
        name="files__read_file", parameters_json_schema=live_parameters(PYDANTIC_STYLE))
    wire = declaration.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert wire["parametersJsonSchema"]["properties"]["path"]["type"] == "string"
    assert "$defs" not in str(wire) and "$ref" not in str(wire)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {}},
    {"type": "object"},
    {},
])
def test_a_tool_without_parameters_declares_none(schema: dict[str, Any]) -> None:
    assert live_parameters(schema) is None


def test_properties_without_a_type_are_an_object() -> None:
    assert live_parameters({"properties": {"q": {"type": "string"}}}) == {
        "type": "object", "properties": {"q": {"type": "string"}}}


@pytest.mark.parametrize(("schema", "reason"), [
    ({"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}},
      "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}},
     "$ref #/$defs/N is recursive"),
    ({"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}},
     "is not a local reference"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "points at nothing"),
    ({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 2}]}}},
     "allOf with several schemas"),
    ({"type": "string"}, "does not describe an object"),
    ({"type": "object", "properties": {"a": {"type": "text"}}}, "unknown type 'text'"),
    ({"type": "object", "properties": {"a": {"anyOf": []}}}, "non-empty list"),
    ({"type": "object", "properties": {"a": 5}}, "a sub-schema is not an object"),
    ({"type": "object", "properties": ["a"]}, "properties must be an object"),
    ("not a schema", "not a JSON object"),
])
def test_what_live_cannot_take_is_refused_with_the_reason(schema: Any, reason: str) -> None:
    with pytest.raises(UnsupportedSchema, match=None) as caught:
        live_parameters(schema)
    assert reason in str(caught.value)


def test_a_very_deep_schema_is_refused() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        schema = {"type": "object", "properties": {"a": schema}}
    with pytest.raises(UnsupportedSchema, match="nested deeper than 32"):
        live_parameters(schema)
