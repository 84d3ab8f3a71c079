"""MCP servers as tools from the command line: real `voicecli` subprocesses, a real MCP server
built with the SDK (tests/tools/mcp_notes_server.py) and the local server, whose echo assistant
calls a function when the user names it (server/engines/echo_assistant.py):
"notes add note buy milk" calls notes__add_note(text="buy milk")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import (
    SECRET,
    assert_one_line_error,
    clean_env,
    free_port,
    served,  # noqa: F401 - the fixture
    voicecli,
)
from tests.tools.helpers import alive, toml_str
from tests.tools.mcp_helpers import SERVER

SKIPPED = ("voicecli: MCP server 'notes': skipped 1 tool(s) Live cannot declare: walk_tree "
           "($ref #/$defs/Node is recursive)")


def mcp_file(tmp_path: Path, **env: str) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"notes": {
        "command": sys.executable, "args": [str(SERVER)], "env": env}}}))
    return path


def events(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_ask_calls_an_allowed_mcp_tool_and_stops_the_server(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    config = mcp_file(tmp_path, NOTES_PID_FILE=str(pids))
    proc = voicecli("ask", "--mcp-config", str(config), "--allow-tools", "notes__add_note",
                    "notes add note buy milk", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert 'notes__add_note returned {"result": "noted: buy milk"}' in proc.stdout
    assert 'tool call: notes__add_note(text="buy milk")' in proc.stderr
    assert SKIPPED in proc.stderr.splitlines()
    server, child = map(int, pids.read_text().split())
    assert not alive(server) and not alive(child)  # no orphans once voicecli has exited


def test_nothing_runs_unless_allowed_and_patterns_allow_a_whole_server(tmp_path: Path) -> None:
    log = tmp_path / "events"
    config = mcp_file(tmp_path, NOTES_EVENTS=str(log))
    question = "notes slow echo hello"
    refused = voicecli("ask", "--mcp-config", str(config), question, env=clean_env(tmp_path))
    assert refused.returncode == 0, refused.stderr
    assert "not allowed: the user did not allow the tool 'notes__slow_echo'" in refused.stdout
    assert events(log) == []  # the server never saw the call
    allowed = voicecli("ask", "--mcp-config", str(config), "--allow-tools", "notes__*",
                       question, env=clean_env(tmp_path))
    assert allowed.returncode == 0, allowed.stderr
    assert 'notes__slow_echo returned {"result": "echo: hello"}' in allowed.stdout
    assert events(log) == ["started echo", "finished echo"]


def test_the_config_files_mcp_servers_and_allow_list(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[tool_use]\nallow_tools = ["notes__weather_report"]\n'
                      f"[mcp.servers.notes]\ncommand = {toml_str(sys.executable)}\n"
                      f"args = [{toml_str(SERVER)}]\ntimeout = 20\n")
    env = clean_env(tmp_path, VOICECLI_CONFIG=str(config))
    proc = voicecli("ask", "notes weather report for Paris", env=env)
    assert proc.returncode == 0, proc.stderr
    assert ('notes__weather_report returned {"city": "Paris", "temperature": 21, '
            '"unit": "celsius"}') in proc.stdout


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ('{"mcpServers": {"a": {"url": "ftp://x"}}}', "must be an http:// or https:// URL"),
])
def test_a_bad_mcp_config_is_one_line_and_exit_2(tmp_path: Path, content: str | None,
                                                fragment: str) -> None:
    path = tmp_path / "mcp.json"
    if content is not None:
        path.write_text(content)
    nobody = f"http://127.0.0.1:{free_port()}"  # never reached: the flags fail first
    proc = voicecli("ask", "--mcp-config", str(path), "hi",
                    env=clean_env(tmp_path, VOICECLI_BASE_URL=nobody))
    assert_one_line_error(proc, 2, f"--mcp-config: {path}")
    assert fragment in proc.stderr


def test_allow_tools_naming_no_tool_of_a_started_server_is_exit_2(tmp_path: Path) -> None:
    proc = voicecli("ask", "--mcp-config", str(mcp_file(tmp_path)), "--allow-tools",
                    "notes__delete_everything", "hi", env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "--allow-tools: no tool named notes__delete_everything")


def test_a_server_that_does_not_start_is_one_line_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"broken": {"command": "no-such-mcp-program"}}}))
    proc = voicecli("ask", "--mcp-config", str(path), "hello there", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "You said: hello there." in proc.stdout
    assert ("voicecli: MCP server 'broken' did not start (no such program: "
            "no-such-mcp-program); going on without its tools") in proc.stderr.splitlines()


def test_a_server_crash_mid_session_is_a_tool_error_not_the_end(tmp_path: Path) -> None:
    proc = voicecli("ask", "--mcp-config", str(mcp_file(tmp_path)), "--allow-tools", "notes__*",
                    "notes crash server", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert ("notes__crash_server returned {\"error\": \"the MCP server 'notes' is not running "
            "(it exited: notes server: crashing on purpose)\"}") in proc.stdout
    assert ("voicecli: MCP server 'notes' stopped (it exited: notes server: crashing on "
            "purpose); its tools now answer with an error") in proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr and "mcp." not in proc.stderr  # no SDK log lines


def test_no_key_reaches_a_server_started_by_a_session_with_a_key(
    tmp_path: Path, served: tuple[str, object],  # noqa: F811
) -> None:
    url, _ = served
    env = clean_env(tmp_path, GEMINI_API_KEY=SECRET, VOICECLI_BASE_URL=url,
                    GOOGLE_CLOUD_PROJECT="p-1")
    proc = voicecli("ask", "--json", "--mcp-config", str(mcp_file(tmp_path)), "--allow-tools",
                    "notes__environment_names", "notes environment names", env=env)
    assert proc.returncode == 0, proc.stderr
    (result,) = [e for e in map(json.loads, proc.stdout.splitlines())
                 if e["type"] == "tool_result"]
    names = result["response"]["result"]
    assert "PATH" in names and not [n for n in names if n.startswith(("GEMINI", "GOOGLE",
                                                                     "VOICECLI"))]
    assert SECRET not in proc.stdout + proc.stderr


def test_batch_jobs_share_one_server_and_record_its_results(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": f"j{n}", "text": f"notes add note item {n}"})
                            + "\n" for n in range(3)))
    out = tmp_path / "out"
    proc = voicecli("batch", str(jobs), "--out", str(out), "--jobs", "3", "--mcp-config",
                    str(mcp_file(tmp_path, NOTES_PID_FILE=str(pids))), "--allow-tools",
                    "notes__add_note", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text()
                                       .splitlines())}
    for n in range(3):
        (tool,) = records[f"j{n}"]["tools"]
        assert tool["name"] == "notes__add_note"
        assert tool["response"] == {"result": f"noted: item {n}"}
    assert proc.stderr.count(SKIPPED) == 1  # one server for the whole run
    assert not any(alive(int(pid)) for pid in pids.read_text().split())


def test_tools_lists_every_source_and_what_is_allowed(tmp_path: Path) -> None:
    tools_toml = tmp_path / "tools.toml"
    tools_toml.write_text('[tools]\nbuiltins = ["current_time"]\n'
                          '[tools.disk_report]\ndescription = "How full the disk is"\n'
                          'command = ["df", "-h"]\n')
    broken = {"broken": {"command": "no-such-mcp-program"}}
    path = mcp_file(tmp_path)
    document = json.loads(path.read_text())
    document["mcpServers"].update(broken)
    path.write_text(json.dumps(document))
    args = ("tools", "--tools", str(tools_toml), "--mcp-config", str(path),
            "--allow-tools", "disk_report,notes__add_note")
    table = voicecli(*args, env=clean_env(tmp_path))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "KIND", "ALLOWED", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:] if line and not line.startswith("allowed")}
    assert rows["disk_report"].split()[1:4] == [str(tools_toml), "command", "yes"]
    assert "built-in, in" in rows["current_time"] and " asks " in rows["current_time"]
    assert "MCP server notes (stdio)" in rows["notes__add_note"]
    assert " yes " in rows["notes__add_note"] and " asks " in rows["notes__list_notes"]
    assert "skipped: $ref #/$defs/Node is recursive" in rows["walk_tree"]
    assert "did not start: no such program" in rows["broken"] and " no " in rows["broken"]
    listed = voicecli(*args, "--json", env=clean_env(tmp_path))
    found = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert found["notes__add_note"] == {
        "name": "notes__add_note", "source": "MCP server notes (stdio)", "kind": "mcp",
        "allowed": "yes", "description": "Add a note to the user's notes."}
    assert found["disk_report"]["allowed"] == "yes"
    assert found["notes__slow_echo"]["allowed"] == "asks"
    assert len(found) == 2 + 9 + 2  # declared, MCP, unavailable


def test_translate_refuses_mcp_tools_for_a_model_that_takes_none(tmp_path: Path) -> None:
    proc = voicecli("translate", "--to", "es", "--mcp-config", str(mcp_file(tmp_path)),
                    env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "gemini-3.5-live-translate-preview does not accept tools")
