"""Python tools: the schema from the signature and docstring, calls, results and errors."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.tools import Param, declaration
from voicecli.tools.python import parse_docstring

from .helpers import tool_named

MODULE = "tests.tools.sample_tools"


def python_tool(function: str, extra: str = "") -> str:
    return f"""
        [tools.{function}]
        target = "{MODULE}:{function}"
        {extra}
    """


def test_the_schema_comes_from_the_signature_and_the_docstring() -> None:
    tool = tool_named(python_tool("get_weather"), "get_weather")
    assert tool.description == "Get the weather forecast for a city."
    assert tool.kind == "python"
    assert declaration(tool, True).parameters == {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING",
                     "description": 'The city and country, like "Paris, France".'},
            "unit": {"type": "STRING", "description": "Temperature unit.",
                     "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "INTEGER",
                     "description": "How many days to forecast, counting today."},
            "hourly": {"type": "BOOLEAN", "description": "Hourly detail."},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
            "ratio": {"type": "NUMBER"},
        },
        "required": ["city"],
    }


def test_toml_overrides_the_description_and_parameter_fields() -> None:
    tool = tool_named(python_tool("get_weather", """
        description = "Weather, from TOML"
        parameters.city = { description = "Where" }
        parameters.days = { minimum = 1, maximum = 7 }
        parameters.unit = { enum = ["celsius"] }
    """), "get_weather")
    params = {p.name: p for p in tool.params}
    assert tool.description == "Weather, from TOML"
    assert params["city"] == Param("city", "string", "Where", required=True)
    assert (params["days"].minimum, params["days"].maximum) == (1, 7)
    assert params["days"].description == "How many days to forecast, counting today."
    assert params["unit"].enum == ("celsius",)


def test_docstring_parsing() -> None:
    summary, args = parse_docstring(
        "Do a thing\nin two lines.\n\nMore.\n\nArgs:\n    a (int): First.\n"
        "    b: Second,\n        continued.\n\n    c: Third.\nReturns:\n    x: not an arg\n"
    )
    assert summary == "Do a thing in two lines."
    assert args == {"a": "First.", "b": "Second, continued.", "c": "Third."}
    assert parse_docstring("") == ("", {})


async def test_sync_functions_get_validated_args_and_dicts_come_back_as_they_are() -> None:
    tool = tool_named(python_tool("get_weather"), "get_weather")
    assert await tool.execute({"city": "Oslo", "days": 2}) == {
        "city": "Oslo", "unit": "celsius", "days": 2, "hourly": False, "tags": None,
        "ratio": None,
    }


async def test_async_functions_are_awaited_and_other_values_wrapped() -> None:
    tool = tool_named(python_tool("slow_echo"), "slow_echo")
    assert await tool.execute({"text": "hi"}) == {"output": "hi"}


async def test_sync_functions_run_in_a_thread() -> None:
    tools = python_tool("blocking_sleep")
    tool = tool_named(tools, "blocking_sleep")
    started = time.monotonic()
    results = await asyncio.gather(*(tool.execute({"seconds": 0.5}) for _ in range(3)))
    assert results == [{"output": "slept"}] * 3
    assert time.monotonic() - started < 1.3


async def test_exceptions_become_error_responses() -> None:
    assert await tool_named(python_tool("fails"), "fails").execute({"reason": "x"}) == {
        "error": "KeyError: 'x'",
    }
    assert await tool_named(python_tool("refuses"), "refuses").execute({"reason": "no"}) == {
        "error": "no",
    }


async def test_a_python_tool_times_out() -> None:
    tool = tool_named(python_tool("slow_echo", "timeout = 0.2"), "slow_echo")
    assert await tool.execute({"text": "hi", "delay": 5}) == {"error": "timed out after 0.2 s"}


async def test_results_are_made_json_safe() -> None:
    tool = tool_named(python_tool("odd_values", 'description = "odd"'), "odd_values")
    assert await tool.execute({}) == {
        "point": {"x": 1.0, "y": 2.0}, "path": "/tmp/x", "set": [3], "nan": "nan",
        "bytes": "hi", "7": "seven",
    }


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("no_doc", "tool 'no_doc': description: missing"),
        ("untyped", "tool 'untyped': target: parameter 'value' has no type hint"),
        ("star_args", "target: parameter 'values': only named parameters are supported"),
        ("nested", "target: parameter 'matrix': arrays of arrays are not supported"),
        ("int_literal", "target: parameter 'level': Literal values must be strings"),
        ("NOT_CALLABLE", f"target: {MODULE}:NOT_CALLABLE is not callable"),
        ("missing", f"target: {MODULE} has no missing"),
    ],
)
def test_unsupported_functions_are_config_errors(function: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        tool_named(python_tool(function), function)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unimportable_module_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot import no_such_mod_xyz: ModuleNotFoundError"):
        tool_named("""
            [tools.x]
            target = "no_such_mod_xyz:f"
        """, "x")


async def test_python_path_makes_a_folder_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored after the test
    folder = tmp_path / "mytools"
    folder.mkdir()
    (folder / "voicecli_test_pathmod.py").write_text(
        'def shout(text: str) -> str:\n    """Shout it."""\n    return text.upper()\n'
    )
    tool = tool_named("""
        [tools]
        python_path = ["mytools"]
        [tools.shout]
        target = "voicecli_test_pathmod:shout"
    """, "shout", base=tmp_path)
    monkeypatch.delitem(sys.modules, "voicecli_test_pathmod")
    assert sys.path[0] == str(folder)
    assert tool.description == "Shout it."
    assert await tool.execute({"text": "hi"}) == {"output": "HI"}
