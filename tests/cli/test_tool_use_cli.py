"""Tools, Google Search and code execution from the command line, as real subprocesses against
the embedded local engine (its stand-ins: voicecli/server/engines/standins.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import assert_one_line_error, clean_env, free_port, voicecli
from tests.tools.helpers import PYTHON, toml_str

CODE_MODEL = "gemini-live-2.5-flash-preview"  # half-cascade: has code execution (§3.1.4)
QUESTION = "what is the capital of France?"


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_search_lists_numbered_sources_under_the_answer(tmp_path: Path) -> None:
    proc = voicecli("ask", "--search", QUESTION, env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    answer, sources = proc.stdout.split("\nSources:\n")
    assert "local stand-in for Google Search" in answer
    assert sources.splitlines() == [
        "[1] What is the capital of France (example.org) — "
        "https://example.org/search/what-is-the-capital-of-france",
        "[2] What is the capital of France (example.com) — "
        "https://example.com/answers/what-is-the-capital-of-france",
    ]
    plain = voicecli("ask", QUESTION, env=clean_env(tmp_path))
    assert "Sources:" not in plain.stdout and plain.stdout.startswith("You said:")


def test_search_as_ndjson_grounding_events(tmp_path: Path) -> None:
    proc = voicecli("ask", "--json", "--search", QUESTION, env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (grounding,) = [e for e in events(proc.stdout) if e["type"] == "grounding"]
    assert grounding["queries"] == ["what is the capital of France"]
    assert [s["uri"] for s in grounding["sources"]] == [  # type: ignore[union-attr]
        "https://example.org/search/what-is-the-capital-of-france",
        "https://example.com/answers/what-is-the-capital-of-france",
    ]


def test_code_execution_shows_the_code_and_its_result(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    proc = voicecli("ask", "-m", CODE_MODEL, "--code-execution", "what is 12 times 7", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "code (PYTHON):\n    print(12 * 7)\ncode result (OUTCOME_OK):\n    84\n" in proc.stderr
    assert "printed 84" in proc.stdout
    streamed = voicecli("ask", "--json", "-m", CODE_MODEL, "--code-execution",
                        "calculate 2 to the power of 10", env=env)
    kinds = {e["type"]: e for e in events(streamed.stdout)}
    assert kinds["executable_code"] == {"type": "executable_code", "language": "PYTHON",
                                       "code": "print(2 ** 10)\n"}
    assert kinds["code_execution_result"] == {"type": "code_execution_result",
                                              "outcome": "OUTCOME_OK", "output": "1024\n"}


def test_a_service_tool_the_model_lacks_is_refused_before_connecting(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # connecting would fail with exit 3
    env = clean_env(tmp_path, VOICECLI_BASE_URL=nobody)
    proc = voicecli("ask", "--code-execution", "what is 1 plus 1", env=env)
    assert_one_line_error(proc, 2, "gemini-3.8-live does not support the codeExecution tool")
    assert "--code-execution" in proc.stderr
    proc = voicecli("ask", "-m", "gemini-3.5-live-translate-preview", "--search", "hi", env=env)
    assert_one_line_error(proc, 2, "does not accept tools")


def _say_tool(name: str, words: str) -> str:
    return (f'[tools.{name}]\ndescription = "says something"\n'
            f'command = [{toml_str(PYTHON)}, "-c", "print({words!r})"]\n'
            'behavior = "BLOCKING"\n')


def test_a_tools_file_replaces_the_config_files_tool_of_the_same_name(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[tool_use]\nallow_tools = ["disk_report", "not_declared_here"]\n'
                      + _say_tool("disk_report", "from the config")
                      + _say_tool("uptime_report", "up 3 days"))
    tools = tmp_path / "tools.toml"
    tools.write_text(_say_tool("disk_report", "from the tools file"))
    env = clean_env(tmp_path, VOICECLI_CONFIG=str(config))
    proc = voicecli("ask", "--tools", str(tools), "disk report please", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "from the tools file" in proc.stdout and "from the config" not in proc.stdout
    assert f"{tools} replaces the config file's tool(s) disk_report" in proc.stderr
    kept = voicecli("ask", "uptime report please", env=env)  # declared, but not allowed
    assert "not allowed" in kept.stdout and "up 3 days" not in kept.stdout


def test_allow_tools_must_name_a_declared_tool(tmp_path: Path) -> None:
    proc = voicecli("ask", "--allow-tools", "rm_everything", "hi", env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "--allow-tools: no tool named rm_everything")


def test_batch_results_record_tool_calls_and_sources(tmp_path: Path) -> None:
    tools = tmp_path / "tools.toml"
    tools.write_text(_say_tool("disk_report", "42 percent full"))
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"id": "tool", "text": "disk report please"}) + "\n"
                    + json.dumps({"id": "search", "text": QUESTION}) + "\n")
    out = tmp_path / "out"
    proc = voicecli("batch", str(jobs), "--out", str(out), "--tools", str(tools),
                    "--allow-tools", "all", "--search", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in events((out / "results.jsonl").read_text())}
    (call,) = records["tool"]["tools"]  # type: ignore[misc]
    assert call["name"] == "disk_report" and call["id"].startswith("function-call-")
    assert call["response"] == {"output": "42 percent full\n", "exit_code": 0}
    assert "42 percent full" in str(records["tool"]["text"])
    assert [s["uri"] for s in records["search"]["sources"]] == [  # type: ignore[union-attr]
        "https://example.org/search/what-is-the-capital-of-france",
        "https://example.com/answers/what-is-the-capital-of-france",
    ]
    assert "tools" not in records["search"] and "sources" not in records["tool"]
