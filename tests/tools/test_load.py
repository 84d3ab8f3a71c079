"""Loading tools from TOML: the documented format works, every mistake is one clear line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import voicecli.tools
from voicecli.errors import ConfigError
from voicecli.tools import load_tools_file

from .helpers import tools_from

GOOD = """
[tools.ok]
description = "fine"
command = ["echo", "{word}"]
parameters.word = { type = "string" }
"""


def test_the_package_docstring_example_parses(tmp_path: Path) -> None:
    doc = voicecli.tools.__doc__ or ""
    example = doc.split("Format, in the config file or in ``--tools tools.toml``::")[1]
    example = example.split("Parameter types:")[0]
    lines = [line[4:] for line in example.splitlines()]
    document = tomllib.loads("\n".join(lines))
    weather = document["tools"].pop("weather")
    assert weather["target"] == "my_tools.weather:get_weather"  # not importable here
    (tmp_path / "notes").mkdir()
    (tmp_path / "voicecli-tools").mkdir()
    (tmp_path / "src" / "project").mkdir(parents=True)
    document["tools"]["read_file_root"] = str(tmp_path / "notes")
    document["tools"]["python_path"] = [str(tmp_path / "voicecli-tools")]
    document["tools"]["git_log"]["cwd"] = str(tmp_path / "src" / "project")
    tools = voicecli.tools.tools_from_config(document)
    assert [t.name for t in tools] == ["git_log", "current_time", "read_file"]
    git_log = tools[0]
    assert git_log.execute.argv({"count": 5}) == [  # type: ignore[attr-defined]
        "git", "log", "--oneline", "-n", "5",
    ]


def test_a_tools_file_loads_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    path = tmp_path / "tools.toml"
    path.write_text(GOOD + 'cwd = "work"\n')
    [tool] = load_tools_file(path)
    assert tool.execute.cwd == tmp_path / "work"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\ntimeot = 3',
         "test.toml: tool 'ok': timeot: unknown key; a command tool takes description, "),
        ('[tools."bad name"]\ndescription = "x"\ncommand = ["a"]',
         "test.toml: tool 'bad name': name: use at most 64 letters"),
        (f'[tools.{"x" * 65}]\ndescription = "x"\ncommand = ["a"]', "name: use at most 64"),
        ('[tools.ok]\ndescription = "x"', "tool 'ok': command: a tool has either command"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\ntarget = "m:f"', "either command"),
        ('[tools.ok]\ncommand = ["a"]', "tool 'ok': description: missing"),
        ('[tools.ok]\ndescription = "x"\ncommand = []', "tool 'ok': command: must name a program"),
        ('[tools.ok]\ndescription = "x"\ncommand = "ls -l"',
         "tool 'ok': command: must be a list of strings, not 'ls -l'"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", 5]', "command: must be a list of strings"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["{p}"]\nparameters.p = {type = "string"}',
         "command: the program (first element) must not contain a placeholder"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{q}"]',
         "command: {q} is not a declared parameter"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p"]\nparameters.p = {type = "string"}',
         "command: unmatched '{' in '{p' (write {{ for a brace)"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nparameters.p = {type = "string"}',
         "command: parameter(s) p not used in the command"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}{q}"]\n'
         'parameters.p = {type = "array", items = "string"}\n'
         'parameters.q = {type = "array", items = "string"}',
         "command: an element may hold at most one array placeholder"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\nparameters.p = {type = "str"}',
         "tool 'ok': parameter 'p': type: must be one of string, integer, number, boolean, array"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\nparameters.p = {}',
         "parameter 'p': type: must be one of string, integer, number, boolean, array, not "
         "missing"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\nparameters.p = "string"',
         "tool 'ok': parameter 'p': must be a table, not str"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\n'
         'parameters.p = {type = "string", minimum = 1}',
         "parameter 'p': minimum/maximum: only integer and number parameters take bounds"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\n'
         'parameters.p = {type = "integer", enum = ["1"]}',
         "parameter 'p': enum: only string parameters take an enum"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\n'
         'parameters.p = {type = "array"}', "parameter 'p': items: an array needs items"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\n'
         'parameters.p = {type = "array", items = "array"}',
         "parameter 'p': items: type: arrays of arrays are not supported"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p}"]\n'
         'parameters.p = {type = "string", format = "date"}',
         "parameter 'p': format: unknown key; a parameter takes type, description"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a", "{p-q}"]\n'
         'parameters.p-q = {type = "string"}', "parameter 'p-q': name: use letters, digits and _"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nrequired = ["p"]',
         "tool 'ok': required: 'p' is not a declared parameter"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\ntimeout = "ten"',
         "tool 'ok': timeout: must be a positive number, not 'ten'"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\ntimeout = 0',
         "tool 'ok': timeout: must be a positive number, not 0"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nmax_output = 1.5',
         "tool 'ok': max_output: must be a positive number, not 1.5"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nconfirm = "yes"',
         "tool 'ok': confirm: must be true or false, not 'yes'"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nbehavior = "ASYNC"',
         "tool 'ok': behavior: must be one of BLOCKING, NON_BLOCKING, not 'ASYNC'"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nscheduling = "SILENT"',
         'tool \'ok\': scheduling: only applies to tools with behavior = "NON_BLOCKING"'),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\nbehavior = "NON_BLOCKING"\n'
         'scheduling = "LATER"', "scheduling: must be one of INTERRUPT, WHEN_IDLE, SILENT"),
        ('[tools.ok]\ndescription = "x"\ncommand = ["a"]\ncwd = "no/such/dir"',
         "tool 'ok': cwd: no such directory: "),
        ('[tools]\nbuiltin = ["current_time"]',
         "test.toml: [tools]: builtin: unknown option; [tools] takes builtins, read_file_root"),
        ('[tools]\nbuiltins = ["current_time"]\n[tools.current_time]\ndescription = "x"\n'
         'command = ["date"]', "test.toml: tool 'current_time' is defined twice"),
        ("tools = 3", "test.toml: [tools]: must be a table, not int"),
        ('[tools.t]\ntarget = "tests.tools.sample_tools:get_weather"\nrequired = ["city"]',
         "tool 't': required: unknown key; a Python tool takes description"),
        ('[tools.t]\ntarget = "tests.tools.sample_tools:get_weather"\nparameters.town = {}',
         "tool 't': parameters: 'town' is not a parameter of the function"),
        ('[tools.t]\ntarget = "tests.tools.sample_tools:get_weather"\n'
         'parameters.city = {type = "integer"}',
         "parameter 'city': type: unknown key; a Python parameter override takes description"),
        ('[tools.t]\ntarget = "tests.tools.sample_tools"',
         "target: 'tests.tools.sample_tools' must look like 'package.module:function'"),
    ],
)
def test_config_errors_are_one_line_naming_the_tool_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        tools_from(text, base=tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_tools_file(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[tools.x\nfoo = ")
    with pytest.raises(ConfigError) as caught:
        load_tools_file(broken)
    assert re.fullmatch(r"tools file .*broken\.toml is not valid TOML: [^\n]+", str(caught.value))


def test_several_tools_keep_their_file_order() -> None:
    tools = tools_from(GOOD + '[tools.second]\ndescription = "y"\ncommand = ["b"]\n'
                       '[tools]\nbuiltins = ["current_time"]')
    assert [(t.name, t.kind) for t in tools] == [
        ("ok", "command"), ("second", "command"), ("current_time", "builtin"),
    ]
