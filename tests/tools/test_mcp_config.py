"""MCP server definitions: ``[mcp.servers.NAME]`` in the config, ``--mcp-config FILE`` JSON, and
every mistake in them as one ConfigError line (mcp_config.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.settings import read_config_file
from voicecli.tools import tool_use
from voicecli.tools.mcp_config import (
    DEFAULT_CALL_TIMEOUT_S,
    load_mcp_config_file,
    merge_servers,
    servers_from_config,
)

CONFIG = """
[mcp.servers.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "~/notes"]
env = { LOG_LEVEL = "warn", GITHUB_TOKEN = "${TEST_GH_TOKEN}" }
timeout = 12.5
confirm = true

[mcp.servers.tracker]
url = "http://127.0.0.1:8931/mcp"
headers = { Authorization = "Bearer ${TEST_GH_TOKEN}" }
start_timeout = 5
"""


def mcp_table(text: str) -> dict[str, object]:
    return tomllib.loads(text)["mcp"]


def test_the_config_tables_give_stdio_and_http_servers() -> None:
    files, tracker = servers_from_config(mcp_table(CONFIG), origin="config file c.toml",
                                         environ={"TEST_GH_TOKEN": "ghp_123"})
    assert (files.name, files.transport, files.command) == ("files", "stdio", "npx")
    assert files.args == ("-y", "@modelcontextprotocol/server-filesystem", "~/notes")
    assert dict(files.env) == {"LOG_LEVEL": "warn", "GITHUB_TOKEN": "ghp_123"}  # ${NAME} filled
    assert files.timeout == 12.5 and files.confirm is True
    assert files.where == "stdio: npx -y @modelcontextprotocol/server-filesystem ~/notes"
    assert (tracker.transport, tracker.url) == ("http", "http://127.0.0.1:8931/mcp")
    assert dict(tracker.headers) == {"Authorization": "Bearer ghp_123"}
    assert tracker.start_timeout == 5 and tracker.timeout == DEFAULT_CALL_TIMEOUT_S


def test_the_config_file_keeps_the_mcp_table_for_the_tools(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('model = "gemini-3.8-live"\n' + CONFIG)
    values = read_config_file(path)
    assert set(values["mcp"]["servers"]) == {"files", "tracker"}  # type: ignore[index]


def test_the_desktop_apps_json_format(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {
        "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"],
                   "env": {"MEMORY_FILE_PATH": "/tmp/m.json"},
                   "alwaysAllow": ["read_graph"]},  # another app's key: ignored
        "remote": {"type": "streamable-http", "url": "https://mcp.example.com/mcp"},
        "old": {"command": "x", "disabled": True},
    }, "globalShortcut": "Ctrl+Space"}))
    memory, remote = load_mcp_config_file(path)
    assert memory.command == "npx" and dict(memory.env) == {"MEMORY_FILE_PATH": "/tmp/m.json"}
    assert memory.origin == f"--mcp-config: {path}"
    assert (remote.transport, remote.url) == ("http", "https://mcp.example.com/mcp")


def test_vs_code_servers_key_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"servers": {"git": {"type": "stdio", "command": "uvx",
                                                    "args": ["mcp-server-git"]}}}))
    (git,) = load_mcp_config_file(path)
    assert (git.name, git.command, git.args) == ("git", "uvx", ("mcp-server-git",))


def test_a_server_of_the_file_replaces_the_configs_server_of_that_name(tmp_path: Path) -> None:
    config = servers_from_config(mcp_table(CONFIG), environ={"TEST_GH_TOKEN": "t"})
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"files": {"command": "my-files"},
                                               "extra": {"command": "extra-server"}}}))
    merged = merge_servers(config, load_mcp_config_file(path))
    assert [(s.name, s.command or s.url) for s in merged] == [
        ("files", "my-files"), ("tracker", "http://127.0.0.1:8931/mcp"),
        ("extra", "extra-server")]


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes "
                  "(line 1, column 2)"),
    ("[1, 2]", 'has no "mcpServers" object'),
    ('{"mcpServers": []}', '"mcpServers" must be an object of servers'),
    ('{"mcpServers": {"a": "npx"}}', "MCP server 'a': must be an object, not str"),
    ('{"mcpServers": {"a": {}}}', 'either "command" (stdio) or "url"'),
    ('{"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}', "either"),
    ('{"mcpServers": {"a": {"command": "x", "args": "-y"}}}', "args: must be a list"),
    ('{"mcpServers": {"a": {"command": "x", "args": [1]}}}', "args: must be a list of strings"),
    ('{"mcpServers": {"a": {"command": "x", "env": ["A=1"]}}}', "env: must be an object"),
    ('{"mcpServers": {"a": {"command": "x", "env": {"A": null}}}}', "A: must be a string"),
    ('{"mcpServers": {"a": {"command": "x", "env": {"T": "${NOT_SET_ANYWHERE}"}}}}',
     "${NOT_SET_ANYWHERE} is not set in the environment"),
    ('{"mcpServers": {"a": {"type": "sse", "url": "http://h/sse"}}}',
     "the older SSE transport is not supported"),
    ('{"mcpServers": {"a": {"url": "ftp://h/mcp"}}}', "must be an http:// or https:// URL"),
    ('{"mcpServers": {"a": {"command": "x", "timeout": 0}}}', "timeout: must be a positive"),
    ('{"mcpServers": {"a": {"command": "x", "timeout": "10"}}}', "timeout: must be a positive"),
    ('{"mcpServers": {"a": {"command": "  "}}}', "command: must name a program"),
    ('{"mcpServers": {"a": {"command": "x", "cwd": "no/such/folder"}}}', "no such directory"),
])
def test_bad_json_is_one_config_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_mcp_config_file(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_unreadable_or_folder_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--mcp-config: .*nope.json does not exist"):
        load_mcp_config_file(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="is a folder, not a JSON file"):
        load_mcp_config_file(tmp_path)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read .* UnicodeDecodeError"):
        load_mcp_config_file(binary)


@pytest.mark.parametrize(("toml", "fragment"), [
    ("[mcp]\nserver = 1\n", "[mcp]: server: unknown key"),
    ("[mcp.servers.a]\ncommand = 'x'\ncomand = 'y'\n", "comand: unknown key; a server takes"),
    ("[mcp.servers.a]\ncommand = 'x'\nconfirm = 'yes'\n", "confirm: must be true or false"),
    ("[mcp]\nservers = 3\n", "servers: must be a table"),
])
def test_the_config_is_strict(toml: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        servers_from_config(mcp_table(toml), origin="config file c.toml")
    assert fragment in str(caught.value) and "config file c.toml" in str(caught.value)


def test_allow_tools_names_of_mcp_servers_wait_for_the_servers(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"notes": {"command": "notes-server"}}}))
    use = tool_use(mcp_file=path, allow="notes__add_note,notes__*")
    assert [s.name for s in use.mcp_servers] == ["notes"] and use.explicit_allow
    assert use.policy.names == {"notes__add_note", "notes__*"}
    with pytest.raises(ConfigError, match="--allow-tools: no tool named other__x"):
        tool_use(mcp_file=path, allow="other__x")
    kept = tool_use(mcp_file=path, allow_config="notes__add_note,gone_tool")
    assert kept.policy.names == {"notes__add_note"} and not kept.explicit_allow


def test_the_example_configs_mcp_servers_parse_when_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "notes").mkdir()  # its cwd = "~/notes"
    example = (Path(__file__).parents[2] / "config.example.toml").read_text()
    block = example[example.index("# [mcp.servers.files]"):]
    toml = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# ")
                     and not line.startswith("#  ") and "Tool names" not in line
                     and "server's. The same" not in line)
    files, tracker = servers_from_config(mcp_table(toml), environ={"TRACKER_TOKEN": "tk"})
    assert files.command == "npx" and files.confirm and files.timeout == 60
    assert dict(tracker.headers) == {"Authorization": "Bearer tk"}
