"""Tool safety through the whole stack: `voicecli ask` (a real subprocess) → the local server's
model → a toolCall on the wire → the command tool → a real process.

The question carries shell metacharacters; the echo assistant passes the user's words on
verbatim as the argument (server/engines/echo_assistant.py), so they reach the tool exactly
as an attacker who talks to the model would send them. Only the argv of the template may run.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import clean_env, voicecli

from .helpers import ARGV_SCRIPT, PYTHON, names_in, toml_str, write_script
from .test_command import HOSTILE

PAYLOAD = "it " + " ".join(HOSTILE)  # a leading word: the assistant starts the argument there


def argv_tools(tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    work.mkdir()
    (work / "decoy.txt").write_text("a glob would expand to this")
    script = write_script(tmp_path, "argv.py", ARGV_SCRIPT)
    tools = tmp_path / "tools.toml"
    tools.write_text(f"""
[tools.echo_argv]
description = "print argv"
command = [{toml_str(PYTHON)}, {toml_str(script)}, "{{text}}", "--x={{text}}"]
cwd = {toml_str(work)}
parameters.text = {{ type = "string" }}
required = ["text"]
""")
    return tools, work


def test_metacharacters_from_the_model_run_nothing_but_the_declared_argv(tmp_path: Path) -> None:
    tools, work = argv_tools(tmp_path)
    proc = voicecli("ask", "--json", "--tools", str(tools), "--allow-tools", "echo_argv",
                    f"echo argv for {PAYLOAD}", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    (call,) = [e for e in events if e["type"] == "tool_call"]
    assert call["name"] == "echo_argv" and call["args"] == {"text": PAYLOAD}  # on the wire
    (result,) = [e for e in events if e["type"] == "tool_result"]
    assert result["id"] == call["id"] and result["response"]["exit_code"] == 0
    assert json.loads(result["response"]["output"]) == [PAYLOAD, f"--x={PAYLOAD}"]
    assert names_in(work) == ["decoy.txt"]  # no pwned files, nothing removed
    spoken = "".join(e["text"] for e in events if e["type"] in ("text", "output_transcript"))
    assert "echo_argv returned" in spoken  # the result reached the model, which spoke of it


def test_without_allow_tools_ask_runs_no_tool_and_the_model_hears_why(tmp_path: Path) -> None:
    tools, work = argv_tools(tmp_path)
    proc = voicecli("ask", "--tools", str(tools), "echo argv for it; touch pwned",
                    env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "echo_argv returned" in proc.stdout and "not allowed" in proc.stdout
    assert 'tool call: echo_argv(text="it; touch pwned")' in proc.stderr
    assert "tool result: echo_argv → {\"error\": \"not allowed" in proc.stderr
    assert names_in(work) == ["decoy.txt"]
