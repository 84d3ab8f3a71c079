"""Command tools: argv filling, no shell ever, timeouts and cancellation kill the process group."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from voicecli.errors import ConfigError
from voicecli.tools import ArgumentError, ToolDef, validate_args

from .helpers import (
    ARGV_SCRIPT,
    PYTHON,
    SPAWN_SCRIPT,
    alive,
    names_in,
    toml_str,
    tool_named,
    wait_for_file,
    wait_gone,
    write_script,
)

TEMPLATE_TOOL = """
[tools.t]
description = "template"
command = ["prog", "-n", "{count}", "{path}", "--since={since}", "{files}", "--tag={tags}",
           "{{literal}}", "x{count}y{flag}", "{ratio}"]
required = ["count"]
parameters.count = { type = "integer" }
parameters.path = { type = "string" }
parameters.since = { type = "string" }
parameters.files = { type = "array", items = "string" }
parameters.tags = { type = "array", items = { type = "string", enum = ["a", "b", "c"] } }
parameters.flag = { type = "boolean" }
parameters.ratio = { type = "number" }
"""


def argv_of(tool: ToolDef, **args: Any) -> list[str]:
    return tool.execute.argv(validate_args(tool.params, args))  # type: ignore[attr-defined]


def test_placeholders_fill_single_elements_and_absent_optionals_drop_theirs() -> None:
    tool = tool_named(TEMPLATE_TOOL, "t")
    assert argv_of(tool, count=3) == ["prog", "-n", "3", "{literal}"]
    assert argv_of(tool, count=3, path="my file.txt", since="2 weeks", flag=True, ratio=0.5) == [
        "prog", "-n", "3", "my file.txt", "--since=2 weeks", "{literal}", "x3ytrue", "0.5",
    ]


def test_arrays_repeat_their_element_once_per_item() -> None:
    tool = tool_named(TEMPLATE_TOOL, "t")
    argv = argv_of(tool, count=1, files=["a b", "c"], tags=["a", "c"])
    assert argv == ["prog", "-n", "1", "a b", "c", "--tag=a", "--tag=c", "{literal}"]
    assert argv_of(tool, count=1, files=[], tags=[]) == ["prog", "-n", "1", "{literal}"]


def test_an_integral_float_fills_an_integer_as_an_integer() -> None:
    tool = tool_named(TEMPLATE_TOOL, "t")
    assert argv_of(tool, count=5.0)[2] == "5"


DASH_TOOL = """
[tools.grep]
description = "search"
command = ["grep", "{pattern}", "--context={context}", "--", "{file}"]
parameters.pattern = { type = "string" }
parameters.context = { type = "string" }
parameters.file = { type = "string" }
[tools.free]
description = "dash allowed"
command = ["echo", "{word}"]
parameters.word = { type = "string", allow_dash = true }
"""


def test_a_value_that_would_read_as_an_option_is_refused_before_a_literal_double_dash() -> None:
    tool = tool_named(DASH_TOOL, "grep")
    with pytest.raises(ArgumentError, match="must not start with '-'"):
        argv_of(tool, pattern="--pre=sh")
    # inside an element, after "--", or with allow_dash the value is just text
    assert argv_of(tool, pattern="x", context="-1", file="-rf") == [
        "grep", "x", "--context=-1", "--", "-rf",
    ]
    assert argv_of(tool_named(DASH_TOOL, "free"), word="-n") == ["echo", "-n"]


HOSTILE = [
    "; rm -rf x",
    "$(touch pwned1)",
    "`touch pwned2`",
    "a | touch pwned3",
    "true && touch pwned4",
    "> pwned5",
    "x\ntouch pwned6",
    "*",
    "~/*.txt",
    "$HOME ${PATH}",
    "'\"quoted\"' \\ back",
    "{text}",
]


async def test_shell_metacharacters_reach_the_program_as_plain_text(tmp_path: Path) -> None:
    script = write_script(tmp_path, "argv.py", ARGV_SCRIPT)
    (tmp_path / "decoy.txt").write_text("a glob would expand to this")
    tool = tool_named(f"""
        [tools.echo_argv]
        description = "print argv"
        command = [{toml_str(PYTHON)}, {toml_str(script)}, "{{text}}", "--x={{text}}", "{{items}}"]
        cwd = {toml_str(tmp_path)}
        parameters.text = {{ type = "string" }}
        parameters.items = {{ type = "array", items = "string" }}
        required = ["text"]
    """, "echo_argv")
    for text in HOSTILE:
        result = await tool.execute({"text": text, "items": HOSTILE})
        assert result["exit_code"] == 0, result
        assert json.loads(result["output"]) == [text, f"--x={text}", *HOSTILE]
    assert names_in(tmp_path) == ["argv.py", "decoy.txt"]


async def test_exit_code_stdout_and_stderr_are_reported(tmp_path: Path) -> None:
    script = write_script(tmp_path, "s.py", "import sys\nprint('out')\n"
                          "print('err', file=sys.stderr)\nsys.exit(3)\n")
    quiet = write_script(tmp_path, "q.py", "print('only out')\n")
    tools = f"""
        [tools.loud]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}]
        [tools.quiet]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(quiet)}]
    """
    assert await tool_named(tools, "loud").execute({}) == {
        "output": "out\n", "exit_code": 3, "stderr": "err\n",
    }
    assert await tool_named(tools, "quiet").execute({}) == {"output": "only out\n", "exit_code": 0}


async def test_the_command_runs_in_its_cwd_with_stdin_closed(tmp_path: Path) -> None:
    script = write_script(tmp_path, "cwd.py", "import os, sys\n"
                          "print(os.getcwd()); print(repr(sys.stdin.read()))\n")
    tool = tool_named(f"""
        [tools.where]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}]
        cwd = "sub"
    """, "where", base=_mkdir(tmp_path / "base" / "sub").parent)
    result = await tool.execute({})
    assert result["output"].splitlines() == [str(tmp_path / "base" / "sub"), "''"]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


async def test_a_missing_program_is_an_error_response() -> None:
    tool = tool_named("""
        [tools.nope]
        description = "x"
        command = ["/nonexistent/voicecli-no-such-program"]
    """, "nope")
    result = await tool.execute({})
    assert set(result) == {"error"} and "cannot run" in result["error"]


async def test_output_beyond_max_output_is_cut_marked_and_drained(tmp_path: Path) -> None:
    script = write_script(tmp_path, "big.py", "import sys\n"
                          "sys.stdout.write('é' * 200_000)\nsys.stderr.write('e' * 5000)\n")
    tool = tool_named(f"""
        [tools.big]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}]
        max_output = 1001
    """, "big")
    result = await tool.execute({})
    assert result["exit_code"] == 0
    kept, marker = result["output"].split("\n[truncated: ")
    assert kept == "é" * 500  # 1001 bytes: the half character at the cut is dropped
    assert marker == "400000 bytes in all, the first 1001 kept]"
    assert result["stderr"].startswith("e" * 1001 + "\n[truncated: 5000 bytes")


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = write_script(tmp_path, "spawn.py", SPAWN_SCRIPT)
    pids = tmp_path / "pids"
    tool = tool_named(f"""
        [tools.hang]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}, {toml_str(pids)}]
        timeout = 1.5
    """, "hang")
    started = time.monotonic()
    result = await tool.execute({})
    assert 1.4 < time.monotonic() - started < 5
    assert result["error"] == "timed out after 1.5 s; the command was killed"
    assert result["output"] == "started\n"  # what it printed before
    child, parent = map(int, pids.read_text().split())
    assert await wait_gone(parent) and await wait_gone(child)


async def test_a_background_child_neither_blocks_the_answer_nor_outlives_it(
    tmp_path: Path,
) -> None:
    script = write_script(tmp_path, "bg.py", "import subprocess, sys\n"
                          "c = subprocess.Popen([sys.executable, '-c', 'import time; "
                          "time.sleep(60)'])\nprint(c.pid)\n")
    tool = tool_named(f"""
        [tools.bg]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}]
        timeout = 20
    """, "bg")
    started = time.monotonic()
    result = await tool.execute({})
    assert time.monotonic() - started < 10 and result["exit_code"] == 0
    assert await wait_gone(int(result["output"]))


async def test_cancelling_the_call_kills_the_process_group(tmp_path: Path) -> None:
    script = write_script(tmp_path, "spawn.py", SPAWN_SCRIPT)
    pids = tmp_path / "pids"
    tool = tool_named(f"""
        [tools.hang]
        description = "x"
        command = [{toml_str(PYTHON)}, {toml_str(script)}, {toml_str(pids)}]
    """, "hang")
    task = asyncio.create_task(tool.execute({}))
    child, parent = map(int, (await wait_for_file(pids)).split())
    assert alive(child) and alive(parent)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(parent) and await wait_gone(child)


async def test_commands_start_from_an_allow_listed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_API_KEY", "VOICECLI_TOKEN",
               "VOICECLI_ACCESS_TOKEN", "VOICECLI_BRAIN_KEY", "VOICECLI_SERVE_KEY",
               "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY")
    for name in secrets:
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("VOICECLI_TEST_DROPPED", "dropped")
    monkeypatch.setenv("VOICECLI_TEST_PASSED", "passed")
    monkeypatch.setenv("LC_TIME", "C.UTF-8")
    monkeypatch.setenv("TZ", "Europe/Paris")
    dump = f'[{toml_str(PYTHON)}, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]'
    tool = tool_named(f"""
        [tools.env]
        description = "x"
        command = {dump}
        env = ["VOICECLI_TEST_PASSED", "GITHUB_TOKEN"]
    """, "env")
    environment = json.loads((await tool.execute({}))["output"])
    assert environment["VOICECLI_TEST_PASSED"] == "passed"  # declared: passed on
    assert environment["GITHUB_TOKEN"] == "secret-GITHUB_TOKEN"  # declared by the user
    assert (environment["LC_TIME"], environment["TZ"]) == ("C.UTF-8", "Europe/Paris")
    assert environment["PATH"] == os.environ["PATH"] and environment["HOME"] == os.environ["HOME"]
    assert "VOICECLI_TEST_DROPPED" not in environment
    assert [n for n in secrets if n in environment] == ["GITHUB_TOKEN"]
    set_values = tool_named(f"""
        [tools.env]
        description = "x"
        command = {dump}
        env = {{ MY_SETTING = "on" }}
    """, "env")
    environment = json.loads((await set_values.execute({}))["output"])
    assert environment["MY_SETTING"] == "on" and "GITHUB_TOKEN" not in environment


@pytest.mark.parametrize("env, problem", [
    ('["GEMINI_API_KEY"]', "voicecli's own credential"),
    ('{ VOICECLI_BRAIN_KEY = "x" }', "voicecli's own credential"),
    ('["not a name"]', "not a variable name"),
    ('"PATH"', "must be a list of names"),
    ('{ A = 1 }', "must be a list of names"),
])
def test_a_tool_cannot_declare_voicecli_credentials(env: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        tool_named(f"""
            [tools.env]
            description = "x"
            command = ["env"]
            env = {env}
        """, "env")
