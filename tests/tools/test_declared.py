"""One run's tools: the config file's [tools] and --tools FILE merged; the allow list."""

from __future__ import annotations

import os
import textwrap
import tomllib
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.settings import load_settings
from voicecli.tools import AllowPolicy, tool_use

CONFIG_TOOLS = """
builtins = ["current_time"]
[shared]
description = "from the config"
command = ["echo", "config"]
confirm = true
[only_config]
description = "only in the config"
command = ["echo", "c"]
"""
FILE_TOOLS = """
[tools.shared]
description = "from the file"
command = ["echo", "file"]
[tools.only_file]
description = "only in the file"
command = ["echo", "f"]
"""


def tools_file(tmp_path: Path) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text(FILE_TOOLS)
    return path


def test_the_tools_file_replaces_same_named_config_tools_whole(tmp_path: Path) -> None:
    use = tool_use(config=tomllib.loads(CONFIG_TOOLS), tools_file=tools_file(tmp_path))
    assert [t.name for t in use.tools] == ["shared", "only_config", "current_time", "only_file"]
    shared = use.tools[0]
    assert shared.description == "from the file" and shared.confirm is False  # not merged
    assert use.replaced == ("shared",)


def test_either_source_alone(tmp_path: Path) -> None:
    assert [t.name for t in tool_use(tools_file=tools_file(tmp_path)).tools] == [
        "shared", "only_file"]
    only_config = tool_use(config=tomllib.loads(CONFIG_TOOLS))
    assert only_config.replaced == () and len(only_config.tools) == 3
    assert not tool_use() and tool_use().policy == AllowPolicy()


def test_the_allow_flag_replaces_the_config_and_must_name_declared_tools(tmp_path: Path) -> None:
    file = tools_file(tmp_path)
    use = tool_use(tools_file=file, allow="only_file", allow_config="all")
    assert use.policy == AllowPolicy(names=frozenset({"only_file"}))
    with pytest.raises(ConfigError, match="--allow-tools: no tool named nope"):
        tool_use(tools_file=file, allow="only_file,nope")


def test_config_allow_names_of_tools_not_declared_now_are_ignored(tmp_path: Path) -> None:
    use = tool_use(config=tomllib.loads(CONFIG_TOOLS), allow_config="shared,only_file")
    assert use.policy == AllowPolicy(names=frozenset({"shared"}))
    assert tool_use(allow_config="all").policy.all


def test_the_config_file_keeps_its_tools_table_and_tool_keys(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    (folder / "project").mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text(textwrap.dedent("""
        model = "gemini-3.8-live"
        [tool_use]
        allow_tools = ["git_status"]
        google_search = true
        code_execution = false
        [tools]
        builtins = ["current_time"]
        [tools.git_status]
        description = "git status"
        command = ["git", "status"]
        cwd = "project"
    """))
    os.chmod(config, 0o600)
    settings = load_settings({}, env={}, config_path=config)
    assert settings.allow_tools == "git_status" and settings.google_search is True
    assert settings.code_execution is False and "git status" not in repr(settings)
    use = tool_use(config=settings.tools, config_path=settings.config_path,
                   allow_config=settings.allow_tools)
    git = {t.name: t for t in use.tools}["git_status"]
    assert git.execute.cwd == folder / "project"  # type: ignore[attr-defined]
    assert use.policy == AllowPolicy(names=frozenset({"git_status"}))


@pytest.mark.parametrize(("text", "fragment"), [
    ("[tools.x]\ncommand = ['true']\n", "tool 'x': description: missing"),
    ("[tools]\nbuiltins = ['nope']\n", "no built-in 'nope'"),
    ("allow_tools = 3\n", "bad value for allow_tools"),
])
def test_config_mistakes_are_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        settings = load_settings({}, env={}, config_path=config)
        tool_use(config=settings.tools, config_path=settings.config_path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
