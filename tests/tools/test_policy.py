"""Who may run what: --allow-tools, confirm = true, and the confirm callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from voicecli.errors import ConfigError
from voicecli.tools import AllowPolicy, ToolDef, ToolRunner

from .helpers import PYTHON, call, toml_str, tools_from, write_script


def marker_tools(tmp_path: Path) -> list[ToolDef]:
    """`touch_it` (plain) and `risky` (confirm = true) each create a marker file when run."""
    script = write_script(tmp_path, "mark.py", "import sys\nopen(sys.argv[1], 'w').close()\n")
    return tools_from(f"""
        [tools.touch_it]
        description = "Create a marker"
        command = [{toml_str(PYTHON)}, {toml_str(script)}, {toml_str(tmp_path / "touch_it")}]
        [tools.risky]
        description = "Create another marker"
        command = [{toml_str(PYTHON)}, {toml_str(script)}, "{{marker}}"]
        cwd = {toml_str(tmp_path)}
        parameters.marker = {{ type = "string" }}
        required = ["marker"]
        confirm = true
    """)


class Asker:
    """A confirm callback that records what it was asked and answers `answer`."""

    def __init__(self, answer: bool | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, name: str, args: dict[str, Any]) -> bool:
        self.asked.append((name, args))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_parse() -> None:
    assert AllowPolicy.parse(None) == AllowPolicy()
    assert AllowPolicy.parse("all") == AllowPolicy(all=True)
    assert AllowPolicy.parse(" a, b ,") == AllowPolicy(names=frozenset({"a", "b"}))
    assert AllowPolicy.parse(["all", "risky"]) == AllowPolicy(True, frozenset({"risky"}))


def test_allow_tools_must_name_declared_tools(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^--allow-tools: no tool named nope, zzz$"):
        ToolRunner(marker_tools(tmp_path), policy=AllowPolicy.parse("touch_it,zzz,nope"))


async def run_one(runner: ToolRunner, name: str, **args: Any) -> dict[str, Any]:
    [response] = await runner.run([call(name, **args)])
    assert response.response is not None
    return response.response


async def test_without_allow_and_without_confirm_nothing_runs(tmp_path: Path) -> None:
    runner = ToolRunner(marker_tools(tmp_path))
    result = await run_one(runner, "touch_it")
    assert result == {"error": "not allowed: the user did not allow the tool 'touch_it' to run "
                               "(it needs --allow-tools touch_it)"}
    assert not (tmp_path / "touch_it").exists()


async def test_a_named_tool_runs_without_asking(tmp_path: Path) -> None:
    asker = Asker(False)
    runner = ToolRunner(marker_tools(tmp_path), policy=AllowPolicy.parse("risky,touch_it"),
                        confirm=asker)
    assert (await run_one(runner, "risky", marker="r1"))["exit_code"] == 0
    assert (await run_one(runner, "touch_it"))["exit_code"] == 0
    assert asker.asked == [] and (tmp_path / "r1").exists() and (tmp_path / "touch_it").exists()


async def test_all_covers_every_tool_but_confirm_ones(tmp_path: Path) -> None:
    runner = ToolRunner(marker_tools(tmp_path), policy=AllowPolicy.parse("all"))
    assert (await run_one(runner, "touch_it"))["exit_code"] == 0
    result = await run_one(runner, "risky", marker="r1")
    assert result["error"].startswith("not allowed: the user did not allow the tool 'risky'")
    assert not (tmp_path / "r1").exists()


async def test_confirm_yes_runs_the_call_and_sees_its_arguments(tmp_path: Path) -> None:
    asker = Asker(True)
    runner = ToolRunner(marker_tools(tmp_path), policy=AllowPolicy.parse("all"), confirm=asker)
    assert (await run_one(runner, "risky", marker="r1"))["exit_code"] == 0
    assert asker.asked == [("risky", {"marker": "r1"})] and (tmp_path / "r1").exists()


@pytest.mark.parametrize("answer", [False, RuntimeError("UI gone")])
async def test_confirm_no_or_a_failing_callback_refuses(
    tmp_path: Path, answer: bool | Exception
) -> None:
    asker = Asker(answer)
    runner = ToolRunner(marker_tools(tmp_path), confirm=asker)
    result = await run_one(runner, "touch_it")
    assert result == {"error": "not allowed: the user declined to run 'touch_it' now"}
    assert asker.asked == [("touch_it", {})] and not (tmp_path / "touch_it").exists()


async def test_invalid_calls_are_refused_before_the_user_is_asked(tmp_path: Path) -> None:
    asker = Asker(True)
    runner = ToolRunner(marker_tools(tmp_path), confirm=asker)
    assert (await run_one(runner, "risky"))["error"] == (
        "invalid arguments: missing required argument 'marker'"
    )
    assert (await run_one(runner, "risky", marker="-rf"))["error"].startswith(
        "invalid arguments: marker must not start with '-'"
    )
    assert asker.asked == []
