"""Argument validation against the declared types, and the declarations sent in the setup."""

from __future__ import annotations

from typing import Any

import pytest

from voicecli.protocol.codec import encode
from voicecli.protocol.messages import Setup
from voicecli.tools import ArgumentError, declarations, setup_tool, validate_args

from .helpers import tool_named, tools_from

TOOLS = """
[tools.t]
description = "Typed parameters"
command = ["prog", "{s}", "{i}", "{n}", "{b}", "{e}", "{a}", "{ints}"]
required = ["s"]
parameters.s = { type = "string", description = "A string" }
parameters.i = { type = "integer", minimum = 1, maximum = 50 }
parameters.n = { type = "number", minimum = -1.5 }
parameters.b = { type = "boolean" }
parameters.e = { enum = ["red", "green"] }
parameters.a = { type = "array", items = "string" }
parameters.ints = { type = "ARRAY", items = { type = "integer", maximum = 9 } }
behavior = "non_blocking"
scheduling = "SILENT"
"""


def check(**args: Any) -> dict[str, Any]:
    return validate_args(tool_named(TOOLS, "t").params, args)


def test_valid_arguments_pass_normalised() -> None:
    assert check(s="x", i=50, n=-1.5, b=False, e="red", a=["p", "q"], ints=[1, 9.0]) == {
        "s": "x", "i": 50, "n": -1.5, "b": False, "e": "red", "a": ["p", "q"], "ints": [1, 9],
    }
    assert check(s="x", i=3.0, n=2) == {"s": "x", "i": 3, "n": 2}
    assert check(s="x", i=None) == {"s": "x"}  # null = absent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required argument 's'"),
        ({"s": "x", "zzz": 1}, "unknown argument(s): zzz"),
        ({"s": 5}, "s must be a string"),
        ({"s": "a\x00b"}, "s must not contain a NUL character"),
        ({"s": "x", "i": "5"}, "i must be an integer"),
        ({"s": "x", "i": True}, "i must be an integer"),
        ({"s": "x", "i": 2.5}, "i must be an integer"),
        ({"s": "x", "i": 0}, "i must be at least 1"),
        ({"s": "x", "i": 51}, "i must be at most 50"),
        ({"s": "x", "n": "1"}, "n must be a number"),
        ({"s": "x", "n": -2}, "n must be at least -1.5"),
        ({"s": "x", "n": float("inf")}, "n must be a finite number"),
        ({"s": "x", "b": "true"}, "b must be a boolean"),
        ({"s": "x", "b": 1}, "b must be a boolean"),
        ({"s": "x", "e": "blue"}, "e must be one of red, green"),
        ({"s": "x", "a": "p"}, "a must be an array"),
        ({"s": "x", "a": ["p", 1]}, "a[] must be a string"),
        ({"s": "x", "ints": [10]}, "ints[] must be at most 9"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        check(**args)
    assert str(caught.value) == message


def test_arguments_must_be_an_object() -> None:
    with pytest.raises(ArgumentError, match="must be an object"):
        validate_args(tool_named(TOOLS, "t").params, ["x"])


def test_the_declaration_is_the_openapi_subset_schema() -> None:
    [declaration] = declarations(tools_from(TOOLS), model_supports_behavior=True)
    assert declaration.name == "t" and declaration.description == "Typed parameters"
    assert declaration.behavior == "NON_BLOCKING"
    assert declaration.parameters == {
        "type": "OBJECT",
        "properties": {
            "s": {"type": "STRING", "description": "A string"},
            "i": {"type": "INTEGER", "minimum": 1, "maximum": 50},
            "n": {"type": "NUMBER", "minimum": -1.5},
            "b": {"type": "BOOLEAN"},
            "e": {"type": "STRING", "enum": ["red", "green"]},
            "a": {"type": "ARRAY", "items": {"type": "STRING"}},
            "ints": {"type": "ARRAY", "items": {"type": "INTEGER", "maximum": 9}},
        },
        "required": ["s"],
    }


def test_behavior_is_declared_only_for_models_that_accept_it() -> None:
    [declaration] = declarations(tools_from(TOOLS), model_supports_behavior=False)
    assert declaration.behavior is None


def test_a_tool_without_parameters_declares_none_and_setup_encodes() -> None:
    tools = tools_from("""
        [tools.ping]
        description = "Ping"
        command = ["true"]
    """)
    tool = setup_tool(tools, model_supports_behavior=True)
    assert tool is not None
    [declaration] = tool.function_declarations or []
    assert declaration.parameters is None  # an OBJECT without properties is refused
    wire = encode(Setup(model="m", tools=[tool]))
    assert '"functionDeclarations":[{"name":"ping","description":"Ping"}]' in wire
    assert setup_tool([], model_supports_behavior=True) is None
